// Finding 8 (at rest): PSKs and cloud keys are AES-256-GCM sealed with SECRET_KEY and bound to
// their row, so someone able to write to the database cannot move a ciphertext to another row;
// agent secrets are only ever stored as hashes and compared in constant time.
import { describe, expect, it } from 'vitest';
import { createCipheriv, randomBytes } from 'node:crypto';
import { decrypt, encrypt, hashSecret, isLegacyCiphertext, newSecretKey, parseSecretKey, resealLegacy, secretMatches } from '../../lib/crypto';

describe('secrets', () => {
  it('encrypts with AES-GCM and detects tampering', () => {
    const key = parseSecretKey(newSecretKey());
    const at = { table: 'Link', id: 'ln1' } as const;
    const c = encrypt(key, 'the psk', at);
    expect(c).not.toContain('the psk');
    expect(decrypt(key, c, at)).toBe('the psk');
    const raw = Buffer.from(c.slice(3), 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => decrypt(key, `v2.${raw.toString('base64')}`, at)).toThrow();
    expect(() => decrypt(parseSecretKey(newSecretKey()), c, at)).toThrow();
  });

  it('binds a ciphertext to its row: copied into another row (or table) it does not open', () => {
    const key = parseSecretKey(newSecretKey());
    const c = encrypt(key, 'the psk', { table: 'Link', id: 'ln1' });
    expect(() => decrypt(key, c, { table: 'Link', id: 'ln2' })).toThrow();
    expect(() => decrypt(key, c, { table: 'CloudAccount', id: 'ln1' })).toThrow();
  });

  it('refuses a ciphertext from before row binding until it is re-sealed for its row', () => {
    const key = parseSecretKey(newSecretKey());
    // The 0.1.0 development format: base64(iv | tag | body), no additional data.
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update('old psk', 'utf8'), cipher.final()]);
    const legacy = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    const at = { table: 'Link', id: 'ln1' } as const;
    expect(isLegacyCiphertext(legacy)).toBe(true);
    expect(() => decrypt(key, legacy, at)).toThrow('not bound to its row');
    const resealed = resealLegacy(key, legacy, at);
    expect(isLegacyCiphertext(resealed)).toBe(false);
    expect(decrypt(key, resealed, at)).toBe('old psk');
  });

  it('parses keys as hex or base64 of exactly 32 bytes', () => {
    expect(parseSecretKey('00'.repeat(32)).length).toBe(32);
    expect(() => parseSecretKey('abc')).toThrow('must be 32 bytes');
  });

  it('compares secret hashes', () => {
    const h = hashSecret('s3cret-s3cret-s3cret');
    expect(secretMatches('s3cret-s3cret-s3cret', h)).toBe(true);
    expect(secretMatches('s3cret-s3cret-s3creT', h)).toBe(false);
    expect(secretMatches('x', 'zz')).toBe(false);
  });
});