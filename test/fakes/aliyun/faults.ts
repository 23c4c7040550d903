// Injected faults: server errors, any documented error code, and added latency, for a given number
// of calls to one API (or to all), so tests can reproduce transient cloud trouble on demand.
import { ApiError, describeCode } from './errors';

export interface FaultSpec {
  /** Action name; every action when absent. */
  api?: string;
  /** HTTP status; 500 -> InternalError and 503 -> ServiceUnavailable unless `code` is given. */
  status?: number;
  /** Any documented code, e.g. TaskConflict (its documented status applies unless `status` is given). */
  code?: string;
  message?: string;
  /** How many matching calls it affects (default 1; Infinity for all). */
  times?: number;
  /** Delay before answering (alone: a slow success). */
  latencyMs?: number;
}

export class FaultQueue {
  private faults: (FaultSpec & { left: number })[] = [];

  add(f: FaultSpec): void {
    if (f.status === undefined && f.code === undefined && f.latencyMs === undefined) throw new Error('fake: empty fault');
    if (f.code !== undefined && !describeCode(f.code) && f.status === undefined) throw new Error(`fake: give a status for ${f.code}`);
    this.faults.push({ ...f, left: f.times ?? 1 });
  }

  clear(): void {
    this.faults = [];
  }

  /** The first fault matching `api`, counted as used. */
  take(api: string): FaultSpec | undefined {
    const f = this.faults.find((x) => x.left > 0 && (x.api === undefined || x.api === api));
    if (!f) return undefined;
    f.left -= 1;
    this.faults = this.faults.filter((x) => x.left > 0);
    return f;
  }
}

/** The error a fault answers with, if it has one (a latency-only fault has none). */
export function faultError(f: FaultSpec): ApiError | undefined {
  if (f.status === undefined && f.code === undefined) return undefined;
  const code = f.code ?? (f.status === 503 ? 'ServiceUnavailable' : 'InternalError');
  const known = describeCode(code);
  const wireCode = code === 'OperationDenied.PortRange' ? 'OperationDenied' : code;
  return new ApiError(wireCode, f.status ?? known!.status, f.message ?? known?.message ?? 'Injected fault.');
}
