/** Small statistics for benchmark samples. */

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  // Nearest-rank: the smallest value with at least p% of samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function summary(samples: readonly number[]): { median: number; p95: number; min: number; max: number; samples: number[] } {
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    median: round(percentile(samples, 50)),
    p95: round(percentile(samples, 95)),
    min: round(Math.min(...samples)),
    max: round(Math.max(...samples)),
    samples: samples.map(round),
  };
}

/** Progress goes to stderr; stdout carries only the one JSON result line. */
export function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}
