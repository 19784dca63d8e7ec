/** Mean and spread of one metric over the runs of an experiment. */
export interface Summary {
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); null with fewer than 2 runs. */
  std: number | null;
  /** Every run's value, in run order. */
  runs: number[];
}

export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  const mean = n ? values.reduce((a, v) => a + v, 0) / n : NaN;
  if (n < 2) return { mean, std: null, runs: [...values] };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (n - 1)), runs: [...values] };
}

/** "66.00 ± 0.37": a fraction as a percentage with two decimals, and its spread when known. */
export function formatPercent(s: Summary | undefined): string {
  if (!s || !Number.isFinite(s.mean)) return 'n/a';
  const mean = (100 * s.mean).toFixed(2);
  return s.std === null ? mean : `${mean} ± ${(100 * s.std).toFixed(2)}`;
}
