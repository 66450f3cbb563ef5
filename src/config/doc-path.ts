/** A path into the configuration document: keys and sequence indexes. */
export type DocPath = readonly (string | number)[];

/**
 * `path` followed by `key` (and `index`), in an array of exactly that length:
 * a spread leaves room for 16 more elements and `concat` is a call into the
 * runtime, and mapping a large file makes two paths per real server.
 */
export function pathTo(path: DocPath, key: string | number, index?: number): DocPath {
  const length = path.length;
  const out = new Array<string | number>(index === undefined ? length + 1 : length + 2);
  for (let i = 0; i < length; i++) out[i] = path[i] as string | number;
  out[length] = key;
  if (index !== undefined) out[length + 1] = index;
  return out;
}
