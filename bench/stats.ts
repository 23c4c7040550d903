// Percentiles, table printing and CPU accounting for benchmark scripts.
import { readFileSync } from 'node:fs';
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

/**
 * CPU seconds (user + system, its reaped children included) a process has used so far, from
 * /proc/PID/stat; 0 when the process is gone or there is no /proc. Steadier than wall time on a
 * shared machine: waiting for a core does not count.
 */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, so split after its closing paren).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0); // utime stime cutime cstime
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/** CPU seconds used by the processes since `cpuSnapshot` was called. */
export function cpuSnapshot(pids: Array<number | undefined>): () => number {
  const start = pids.map(cpuSeconds);
  return () => pids.reduce<number>((sum, pid, i) => sum + cpuSeconds(pid) - start[i]!, 0);
}
