// Secrets at rest: AES-256-GCM with the controller's SECRET_KEY. Agent secrets are only hashed.
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type SecretKey = Buffer & { readonly __secretKey: true };

/** Accepts 32 bytes as base64 or hex; throws a message fit for a config error. */
export function parseSecretKey(text: string): SecretKey {
  const t = text.trim();
  const buf = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (buf.length !== 32) throw new Error('must be 32 bytes, given as 64 hex digits or base64');
  return buf as SecretKey;
}

export const newSecretKey = (): string => randomBytes(32).toString('base64');

/** Where a ciphertext lives: binding it to its row means one copied into another row fails to open. */
export interface SealedAt {
  table: 'Link' | 'CloudAccount';
  id: string;
}

const VERSION = 'v2.';
const aadOf = (at: SealedAt): Buffer => Buffer.from(`ipsec-mesh|${at.table}|${at.id}`, 'utf8');

/**
 * AES-256-GCM with the row's table and id as additional authenticated data: someone able to write
 * to the database cannot swap ciphertexts between rows (a PSK of one link into another, one
 * account's keys into another) without the decryption failing.
 */
export function encrypt(key: SecretKey, plaintext: string, at: SealedAt): string {
  return VERSION + seal(key, plaintext, aadOf(at));
}

/** Opens what encrypt() sealed for the same row; throws on any other row, key or tampering. */
export function decrypt(key: SecretKey, ciphertext: string, at: SealedAt): string {
  if (!ciphertext.startsWith(VERSION)) throw new Error(`${at.table} ${at.id}: ciphertext is not bound to its row (run the controller once to re-seal it)`);
  return open(key, ciphertext.slice(VERSION.length), aadOf(at));
}

/** True for ciphertexts written before they were bound to their rows (0.1.0 development builds). */
export const isLegacyCiphertext = (ciphertext: string): boolean => !ciphertext.startsWith(VERSION);

/** Re-seals a ciphertext from before row binding; only the start-up migration calls it. */
export function resealLegacy(key: SecretKey, ciphertext: string, at: SealedAt): string {
  return encrypt(key, open(key, ciphertext), at);
}

function seal(key: SecretKey, plaintext: string, aad?: Buffer): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  if (aad) c.setAAD(aad);
  const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
}

function open(key: SecretKey, ciphertext: string, aad?: Buffer): string {
  const raw = Buffer.from(ciphertext, 'base64');
  if (raw.length < 29) throw new Error('ciphertext too short');
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  if (aad) d.setAAD(aad);
  d.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
}

/** URL-safe random token (agent secrets, PSKs). 32 bytes → 43 chars. */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** Agent secrets carry 256 bits of entropy, so a plain SHA-256 is enough and cheap for reconnect storms. */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export function secretMatches(secret: string, hashHex: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(hashHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
