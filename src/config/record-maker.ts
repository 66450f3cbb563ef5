/**
 * Makes plain objects (prototype `Object.prototype`, as `{}`) that hold all
 * their fields in the object itself, however many a call site sets.
 *
 * `{}` has room for four fields inside the object; V8 puts every field set
 * after them in a second object. An object made by `new` on a function
 * starts with spare room instead, and V8 trims it to what the first few
 * objects made by that function used. So each call site that builds objects
 * of more than four fields one at a time (real servers, checkers) gets its
 * own maker: one object per record instead of two.
 */
export function recordMaker(): () => Record<string, unknown> {
  // A function (not a class) so that its prototype can be Object.prototype:
  // the records are indistinguishable from `{}` (deepStrictEqual, JSON).
  function PlainRecord(): void {}
  PlainRecord.prototype = Object.prototype;
  const Maker = PlainRecord as unknown as new () => Record<string, unknown>;
  return () => new Maker();
}
