// Identifiers: a short type prefix and 16 random base32 characters (80 bits), safe in strongSwan
// connection names, URLs and file names.
import { randomBytes } from 'node:crypto';

const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

export const newGatewayId = (): string => `gw${base32(randomBytes(10))}`;
export const newLinkId = (): string => `ln${base32(randomBytes(10))}`;
export const newAccountId = (): string => `ac${base32(randomBytes(10))}`;
export const newEnrolmentTokenId = (): string => `et${base32(randomBytes(10))}`;
