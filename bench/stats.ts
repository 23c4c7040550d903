// Percentiles and table printing for benchmark scripts.
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(name: string, values: number[]): string {
  const f = (n: number) => n.toFixed(0).padStart(6);
  return `${name.padEnd(40)} p50 ${f(percentile(values, 50))} ms   p95 ${f(percentile(values, 95))} ms   min ${f(Math.min(...values))}   max ${f(Math.max(...values))}`;
}
