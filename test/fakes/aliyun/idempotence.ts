// ClientToken idempotence as documented (https://www.alibabacloud.com/help/doc-detail/36569.htm):
// the same token with the same parameters returns the original result; with other parameters,
// IdempotentParameterMismatch; while the first request is still running, LastTokenProcessing.
// Failed requests do not consume the token, so a retry after a busy or 5xx answer runs anew.
import { apiError, invalidParam } from './errors';
import type { Params } from './params';

export type TokenDecision =
  | { kind: 'none' }
  | { kind: 'replay'; body: Record<string, unknown> }
  | { kind: 'fresh'; key: string; fingerprint: string };

export class TokenStore {
  private readonly done = new Map<string, { fingerprint: string; body: Record<string, unknown>; at: number }>();
  private readonly inFlight = new Set<string>();

  constructor(private readonly ttlMs: number) {}

  clear(): void {
    this.done.clear();
    this.inFlight.clear();
  }

  /** Decides what a request carrying (or not) a ClientToken gets; tokens are per key and action. */
  check(params: Params, accessKeyId: string, api: string, now: number): TokenDecision {
    const token = params.get('ClientToken');
    if (token === undefined) return { kind: 'none' };
    // Documented: at most 64 ASCII characters.
    if (token.length > 64 || !/^[\x20-\x7e]+$/.test(token)) throw invalidParam('ClientToken');
    const key = `${accessKeyId}|${api}|${token}`;
    const fingerprint = params.fingerprint(['ClientToken']);
    const done = this.done.get(key);
    if (done && now - done.at < this.ttlMs) {
      if (done.fingerprint !== fingerprint) throw apiError('IdempotentParameterMismatch');
      return { kind: 'replay', body: done.body };
    }
    if (this.inFlight.has(key)) throw apiError('LastTokenProcessing');
    return { kind: 'fresh', key, fingerprint };
  }

  /** Marks the token as being processed; returns the function that unmarks it. */
  begin(key: string): () => void {
    this.inFlight.add(key);
    return () => this.inFlight.delete(key);
  }

  succeeded(key: string, fingerprint: string, body: Record<string, unknown>, at: number): void {
    this.done.set(key, { fingerprint, body, at });
  }
}
