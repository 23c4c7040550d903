// Small pure helpers over stored rows, shared by activities, the API and the hub wiring.

/** The address peers should dial: operator-given, else agent-reported, else what the hub observed. */
export function gatewayEndpoint(g: { publicIp: string | null; facts: string | null; observedIp: string | null }): string | undefined {
  if (g.publicIp) return g.publicIp;
  const reported = g.facts ? (JSON.parse(g.facts) as { publicIp?: unknown }).publicIp : undefined;
  if (typeof reported === 'string' && reported) return reported;
  return g.observedIp ?? undefined;
}

export function parseJsonList(s: string): string[] {
  const v: unknown = JSON.parse(s);
  return Array.isArray(v) ? v.map(String) : [];
}

/** Presence is only believed while it is being refreshed; a crashed controller cannot clear it. */
export function isFresh(lastSeenAt: Date | null, now: Date, ttlMs: number): boolean {
  return !!lastSeenAt && now.getTime() - lastSeenAt.getTime() <= ttlMs;
}
