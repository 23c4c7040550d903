// What a cloud endpoint answered may reach users (a gateway's stateReason, link events, API
// responses), so only the provider's error code and message fields ever do, cleaned here; any
// other reply is described by its HTTP status alone. An endpoint can be a misconfigured proxy, a
// metadata service or an attacker's server, and its body must not be reflected.

/** Longest provider message kept: enough for any documented message, too short to carry a page. */
export const MAX_PROVIDER_MESSAGE = 300;

/**
 * The error code when `value` looks like one ("Throttling.User", "InvalidRouteTableID.NotFound",
 * "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE"), else undefined: a code is shown verbatim and used as
 * providerCode, so free text (a sentence, markup) in its place means the reply is not the provider's.
 */
export function providerCodeOf(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z][A-Za-z0-9._-]{0,99}$/.test(value) ? value : undefined;
}

/**
 * A provider's message made safe to show: control and bidirectional-formatting characters removed
 * (line breaks and tabs become spaces, so no forged log lines or terminal escapes), white space
 * collapsed, cut at `max` characters with an ellipsis. Undefined when nothing is left.
 */
export function cleanMessage(value: unknown, max = MAX_PROVIDER_MESSAGE): string | undefined {
  if (typeof value !== 'string') return undefined;
  // Only the head matters: a megabyte-long message is cut before any regex runs over it.
  const head = value.length > max * 4 ? value.slice(0, max * 4) : value;
  const text = head
    .replace(/[\t\n\v\f\r\u0085\u2028\u2029]/g, ' ')
    .replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (!text) return undefined;
  return text.length > max ? `${text.slice(0, max).trimEnd()}…` : text;
}

/** A request id when it looks like one (letters, digits, dashes), else undefined. */
export function requestIdOf(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/.test(value) ? value : undefined;
}

/** The generic text for a reply that is not the provider's error document: its status only. */
export function unexpectedReply(status: number | undefined, what: string): string {
  return status === undefined ? `unexpected reply (${what})` : `unexpected reply: HTTP ${status} (${what})`;
}
