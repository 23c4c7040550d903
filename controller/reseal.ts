// One-time start-up step: secrets stored before ciphertexts were bound to their rows (0.1.0
// development builds) are re-sealed with their row as additional data, so none remain that could
// be copied between rows. Conditional updates: several controllers starting at once do it once.
import type { Db } from '../db';
import { isLegacyCiphertext, resealLegacy, type SecretKey } from '../lib/crypto';

export async function resealLegacySecrets(db: Db, key: SecretKey): Promise<number> {
  let count = 0;
  const links = await db.link.findMany({ where: { NOT: { pskCiphertext: { startsWith: 'v2.' } } }, select: { id: true, pskCiphertext: true } });
  for (const l of links) {
    if (!isLegacyCiphertext(l.pskCiphertext)) continue;
    const sealed = resealLegacy(key, l.pskCiphertext, { table: 'Link', id: l.id });
    count += (await db.link.updateMany({ where: { id: l.id, pskCiphertext: l.pskCiphertext }, data: { pskCiphertext: sealed } })).count;
  }
  const accounts = await db.cloudAccount.findMany({ where: { NOT: [{ credentialsCiphertext: null }, { credentialsCiphertext: { startsWith: 'v2.' } }] }, select: { id: true, credentialsCiphertext: true } });
  for (const a of accounts) {
    if (!a.credentialsCiphertext || !isLegacyCiphertext(a.credentialsCiphertext)) continue;
    const sealed = resealLegacy(key, a.credentialsCiphertext, { table: 'CloudAccount', id: a.id });
    count += (await db.cloudAccount.updateMany({ where: { id: a.id, credentialsCiphertext: a.credentialsCiphertext }, data: { credentialsCiphertext: sealed } })).count;
  }
  return count;
}
