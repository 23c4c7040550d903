// Encrypts every workflow and activity payload the controller sends to Temporal (AES-256-GCM, a key
// of its own, separate from SECRET_KEY), so someone who can read Temporal (its UI, its database)
// sees no gateway names, addresses or networks, and someone who can only reach Temporal cannot
// feed a worker input of their own: a payload that is not sealed with the key fails to decode,
// and the workflow task or activity with it fails instead of running.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined): string => (b ? new TextDecoder().decode(b) : '');

/** A short public fingerprint of a key: payloads name the key that sealed them. */
export const payloadKeyId = (key: Buffer): string => createHash('sha256').update(key).digest('hex').slice(0, 16);

export class PayloadDecodeError extends Error {
  override name = 'PayloadDecodeError';
}

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;
  private readonly current: { id: string; key: Buffer };

  /**
   * @param key seals new payloads; `previous` keys still open old ones (key rotation).
   * @param options.allowPlaintext accept payloads that were never sealed: only for replaying histories
   *   recorded without the codec (tests), never in a controller.
   */
  constructor(key: Buffer, previous: Buffer[] = [], private readonly options: { allowPlaintext?: boolean } = {}) {
    if (key.length !== 32) throw new Error('payload key must be 32 bytes');
    this.current = { id: payloadKeyId(key), key };
    this.keys = new Map([key, ...previous].map((keyBytes) => [payloadKeyId(keyBytes), keyBytes]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: utf8(ENCODING), [KEY_ID]: utf8(this.current.id) },
        data: Buffer.concat([iv, cipher.getAuthTag(), body]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCODING) {
        if (this.options.allowPlaintext) return payload;
        throw new PayloadDecodeError('refusing a payload that is not encrypted with the controller\'s payload key');
      }
      const id = text(payload.metadata?.[KEY_ID]);
      const key = this.keys.get(id);
      if (!key) throw new PayloadDecodeError(`payload sealed with unknown key ${id || '(none)'}`);
      const raw = Buffer.from(payload.data ?? new Uint8Array());
      if (raw.length < 28) throw new PayloadDecodeError('encrypted payload too short');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
      } catch {
        throw new PayloadDecodeError('encrypted payload failed authentication');
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
