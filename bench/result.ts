/** One benchmark's measurements: a name plus named numbers (units in the key, e.g. nsPerPacket). */
export interface BenchResult {
  name: string;
  [metric: string]: number | string | undefined;
}

export type Bench = () => Promise<BenchResult | BenchResult[]>;
