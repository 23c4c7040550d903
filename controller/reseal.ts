// One-time start-up step: secrets stored before ciphertexts were bound to their rows (0.1.0
// development builds) are re-sealed with their row as additional data, so none remain that could
// be copied between rows. Conditional updates: several controllers starting at once do it once.
import type { Store } from '../store';
import { isLegacyCiphertext, resealLegacy, type SecretKey } from '../lib/crypto';

/** Ciphertexts of the current format start with this; older ones are re-sealed. */
const SEALED_PREFIX = 'v2.';

export async function resealLegacySecrets(store: Store, key: SecretKey): Promise<number> {
  let count = 0;
  for (const link of await store.links.pskCiphertextsOutside(SEALED_PREFIX)) {
    if (!isLegacyCiphertext(link.pskCiphertext)) continue;
    const sealed = resealLegacy(key, link.pskCiphertext, { table: 'Link', id: link.id });
    if (await store.links.replacePsk(link.id, link.pskCiphertext, sealed)) count++;
  }
  for (const account of await store.accounts.credentialsOutside(SEALED_PREFIX)) {
    if (!isLegacyCiphertext(account.credentialsCiphertext)) continue;
    const sealed = resealLegacy(key, account.credentialsCiphertext, { table: 'CloudAccount', id: account.id });
    if (await store.accounts.replaceCredentials(account.id, account.credentialsCiphertext, sealed)) count++;
  }
  return count;
}
