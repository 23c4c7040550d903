// Cloud accounts as stored: credentials encrypted at rest with the controller's key, never
// returned or logged. Builds providers for activities, cached briefly per account and region.
import { z } from 'zod';
import type { AccountRecord, Store } from '../store';
import { decrypt, encrypt, type SecretKey } from '../lib/crypto';
import type { CloudAccountRef, ProviderFor } from '../activities/cloud';
import { CloudError, type CloudCredentials, type CloudEndpoints, type CloudProvider, type CloudProviderName, type CloudTarget } from './types';
import { endpointPolicy, endpointRefusal, type EndpointPolicy } from './endpoint-policy';
import { createProvider } from './index';

export const CredentialsSchema = z
  .object({
    accessKeyId: z.string().min(1).max(256),
    accessKeySecret: z.string().min(1).max(256),
    securityToken: z.string().min(1).max(4096).optional(),
  })
  .strict();

export const EndpointsSchema = z
  .object({
    vpc: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
    ecs: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
    ec2: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  })
  .strict();

export function sealCredentials(key: SecretKey, accountId: string, credentials: CloudCredentials): string {
  return encrypt(key, JSON.stringify(credentials), { table: 'CloudAccount', id: accountId });
}

export interface ProviderResolverOptions {
  cacheMs?: number;
  build?: (target: CloudTarget) => CloudProvider;
  /**
   * The controller's CLOUD_ENDPOINT_ALLOW entries; the providers' own domains are always allowed.
   * Throws AllowListError (at start) on a bad entry.
   */
  endpointAllow?: readonly string[];
}

export function providerResolver(store: Pick<Store, 'accounts'>, key: SecretKey, opts: ProviderResolverOptions = {}): ProviderFor {
  const cache = new Map<string, { at: number; value: { provider: CloudProvider; target: CloudTarget } }>();
  const ttl = opts.cacheMs ?? 60_000;
  const build = opts.build ?? createProvider;
  const policy = endpointPolicy(opts.endpointAllow ?? []);
  return async (ref: CloudAccountRef) => {
    const cacheKey = `${ref.accountId}|${ref.region}`;
    const hit = cache.get(cacheKey);
    if (hit && Date.now() - hit.at < ttl) return hit.value;
    const account = await store.accounts.get(ref.accountId);
    if (!account) throw new Error(`cloud account ${ref.accountId} not found`);
    // Checked before anything is decrypted or built: no request, and so no credential, ever goes
    // to an endpoint the current allow-list does not name (the API checked it when the account
    // was added, but the setting may have changed since, or the row was written directly).
    const endpoints = storedEndpoints(policy, account);
    const target: CloudTarget = {
      provider: account.provider as CloudProviderName,
      region: ref.region,
      ...(account.credentialsCiphertext ? { credentials: openCredentials(key, account.id, account.credentialsCiphertext) } : {}),
      ...(endpoints ? { endpoints } : {}),
    };
    const value = { provider: build(target), target };
    cache.set(cacheKey, { at: Date.now(), value });
    return value;
  };
}

/** The sealed credentials, decrypted and checked against the schema they were stored with. */
function openCredentials(key: SecretKey, accountId: string, ciphertext: string): CloudCredentials {
  const parsed = CredentialsSchema.safeParse(JSON.parse(decrypt(key, ciphertext, { table: 'CloudAccount', id: accountId })));
  if (!parsed.success) throw new CloudError('invalid', `cloud account ${accountId}: the stored credentials are not readable`);
  return parsed.data;
}

/** The account's endpoints, normalised (none: undefined), or a permanent CloudError saying which one is refused and why. */
function storedEndpoints(policy: EndpointPolicy, account: AccountRecord): CloudEndpoints | undefined {
  if ('malformed' in account.endpoints) throw new CloudError('invalid', `cloud account ${account.id}: endpoints: the stored value is not a map of service to URL`);
  if (account.endpoints.set === null) return undefined;
  const checked = policy.checkEndpoints(account.endpoints.set);
  if (checked.ok) return checked.endpoints;
  throw new CloudError('invalid', `cloud account ${account.id}: ${checked.field}: ${endpointRefusal(checked.reason)}`);
}
