// Verifies the ACS3-HMAC-SHA256 (V3) request signature the way the Alibaba Cloud gateway does, so
// a client with a wrong secret, a tampered parameter or a replayed request fails here as in the cloud.
// Spec: https://help.aliyun.com/document_detail/2593177.html ("V3版本请求体&签名机制"):
//   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
//                      SignedHeaders \n HashedRequestPayload
//   StringToSign     = "ACS3-HMAC-SHA256" \n hex(sha256(CanonicalRequest))
//   Signature        = hex(hmac-sha256(AccessKeySecret, StringToSign))
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { apiError } from './errors';

export interface SignedRequest {
  method: string;
  path: string;
  /** Raw query string without "?". */
  rawQuery: string;
  /** Lower-case header names, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface AccessKeyRecord {
  secret: string;
  /** When set, requests must carry this STS token in x-acs-security-token. */
  securityToken?: string;
}

const algorithm = 'ACS3-HMAC-SHA256';

/** RFC 3986 percent-encoding, as the spec requires for the canonical query. */
export function percentEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function header(req: SignedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function canonicalQuery(rawQuery: string): string {
  const pairs = [...new URLSearchParams(rawQuery)].map(([k, v]) => [percentEncode(k), percentEncode(v)] as const);
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

interface Authorization {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string | undefined): Authorization {
  const m = value ? /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]*),Signature=([0-9a-f]+)$/.exec(value) : null;
  if (!m) throw apiError('IncompleteSignature');
  return { accessKeyId: m[1]!, signedHeaders: m[2]!.split(';'), signature: m[3]! };
}

/** The canonical request a client should have signed (exported for the fake's own tests). */
export function canonicalRequest(req: SignedRequest, signedHeaders: readonly string[], payloadHash: string): string {
  const headers = signedHeaders.map((h) => `${h}:${(header(req, h) ?? '').trim()}\n`).join('');
  return [req.method.toUpperCase(), req.path || '/', canonicalQuery(req.rawQuery), headers, signedHeaders.join(';'), payloadHash].join('\n');
}

export function sign(secret: string, canonical: string): string {
  const stringToSign = `${algorithm}\n${createHash('sha256').update(canonical).digest('hex')}`;
  return createHmac('sha256', secret).update(stringToSign).digest('hex');
}

/** Options of the replay checks (x-acs-date skew, x-acs-signature-nonce reuse). */
export interface ReplayGuard {
  maxSkewMs: number;
  /** nonce -> time it may be forgotten. */
  nonces: Map<string, number>;
}

/**
 * Checks AccessKeyId, signature, timestamp and nonce; returns the AccessKeyId on success and throws
 * the documented ApiError otherwise.
 */
export function verifyRequest(
  req: SignedRequest,
  keys: ReadonlyMap<string, AccessKeyRecord>,
  guard: ReplayGuard,
  now: number,
): string {
  const auth = parseAuthorization(header(req, 'authorization'));
  const key = keys.get(auth.accessKeyId);
  if (!key) throw apiError('InvalidAccessKeyId.NotFound');
  // Every x-acs-* header and host must be signed, as the spec demands.
  const mustSign = Object.keys(req.headers).filter((h) => h.startsWith('x-acs-') || h === 'host');
  const sorted = [...auth.signedHeaders].sort();
  if (mustSign.some((h) => !auth.signedHeaders.includes(h)) || sorted.join(';') !== auth.signedHeaders.join(';')) {
    throw apiError('IncompleteSignature');
  }
  const payloadHash = createHash('sha256').update(req.body).digest('hex');
  if (header(req, 'x-acs-content-sha256') !== payloadHash) throw apiError('SignatureDoesNotMatch');
  const expected = Buffer.from(sign(key.secret, canonicalRequest(req, auth.signedHeaders, payloadHash)));
  const given = Buffer.from(auth.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw apiError('SignatureDoesNotMatch');
  if (key.securityToken !== undefined && header(req, 'x-acs-security-token') !== key.securityToken) {
    throw apiError('InvalidSecurityToken.Mismatch');
  }
  const date = Date.parse(header(req, 'x-acs-date') ?? '');
  if (!Number.isFinite(date) || Math.abs(now - date) > guard.maxSkewMs) throw apiError('InvalidTimeStamp.Expired');
  const nonce = header(req, 'x-acs-signature-nonce');
  if (!nonce) throw apiError('IncompleteSignature');
  for (const [n, until] of guard.nonces) if (until < now) guard.nonces.delete(n);
  if (guard.nonces.has(nonce)) throw apiError('SignatureNonceUsed');
  guard.nonces.set(nonce, now + 2 * guard.maxSkewMs);
  return auth.accessKeyId;
}
