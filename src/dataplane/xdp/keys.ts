/** A u32 map key or value in host order, as the array maps of the lb program take them. */
export function u32Key(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
