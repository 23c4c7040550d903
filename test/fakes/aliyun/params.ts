// Typed access to an RPC request's parameters, which arrive flattened ("Permissions.1.PortRange")
// in the query string or a form body; every accessor fails with the documented parameter errors.
import { invalidParam, missing } from './errors';

export class Params {
  constructor(private readonly map: ReadonlyMap<string, string>) {}

  static fromSearch(...sources: URLSearchParams[]): Params {
    const map = new Map<string, string>();
    for (const s of sources) for (const [k, v] of s) map.set(k, v);
    return new Params(map);
  }

  get(name: string): string | undefined {
    const v = this.map.get(name);
    return v === undefined || v === '' ? undefined : v;
  }

  require(name: string): string {
    const v = this.get(name);
    if (v === undefined) throw missing(name);
    return v;
  }

  bool(name: string): boolean {
    return this.get(name)?.toLowerCase() === 'true';
  }

  /** An integer in [min, max], or `def` when absent. */
  int(name: string, def: number, min: number, max: number): number {
    const v = this.get(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw invalidParam(name);
    return n;
  }

  /** A JSON array of strings (how ECS takes "InstanceIds", "PublicIpAddresses", ...). */
  jsonArray(name: string, maxItems = 100): string[] | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      throw invalidParam(name);
    }
    if (!Array.isArray(parsed) || parsed.length > maxItems || !parsed.every((x) => typeof x === 'string')) {
      throw invalidParam(name);
    }
    return parsed;
  }

  /** Repeated structures "Prefix.N.Field" as objects, ordered by N. */
  list(prefix: string): Record<string, string>[] {
    const byIndex = new Map<number, Record<string, string>>();
    const re = new RegExp(`^${prefix.replace('.', '\\.')}\\.(\\d+)(?:\\.(.+))?$`);
    for (const [k, v] of this.map) {
      const m = re.exec(k);
      if (!m) continue;
      const i = Number(m[1]);
      const item = byIndex.get(i) ?? {};
      item[m[2] ?? ''] = v;
      byIndex.set(i, item);
    }
    return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, item]) => item);
  }

  /** Every parameter except `omit`, sorted: what "the same request" means for ClientToken. */
  fingerprint(omit: readonly string[]): string {
    return JSON.stringify([...this.map.entries()].filter(([k]) => !omit.includes(k)).sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}
