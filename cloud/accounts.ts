// Cloud accounts as stored: credentials encrypted at rest with the controller's key, never
// returned or logged. Builds providers for activities, cached briefly per account and region.
import { z } from 'zod';
import type { Db } from '../db';
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

export function sealCredentials(key: SecretKey, accountId: string, c: CloudCredentials): string {
  return encrypt(key, JSON.stringify(c), { table: 'CloudAccount', id: accountId });
}

export interface ProviderResolverOptions {
  cacheMs?: number;
  build?: (t: CloudTarget) => CloudProvider;
  /**
   * The controller's CLOUD_ENDPOINT_ALLOW entries; the providers' own domains are always allowed.
   * Throws AllowListError (at start) on a bad entry.
   */
  endpointAllow?: readonly string[];
}

export function providerResolver(db: Db, key: SecretKey, opts: ProviderResolverOptions = {}): ProviderFor {
  const cache = new Map<string, { at: number; value: { provider: CloudProvider; target: CloudTarget } }>();
  const ttl = opts.cacheMs ?? 60_000;
  const build = opts.build ?? createProvider;
  const policy = endpointPolicy(opts.endpointAllow ?? []);
  return async (ref: CloudAccountRef) => {
    const k = `${ref.accountId}|${ref.region}`;
    const hit = cache.get(k);
    if (hit && Date.now() - hit.at < ttl) return hit.value;
    const a = await db.cloudAccount.findUnique({ where: { id: ref.accountId } });
    if (!a) throw new Error(`cloud account ${ref.accountId} not found`);
    // Checked before anything is decrypted or built: no request, and so no credential, ever goes
    // to an endpoint the current allow-list does not name (the API checked it when the account
    // was added, but the setting may have changed since, or the row was written directly).
    const endpoints = a.endpoints ? storedEndpoints(policy, a.id, a.endpoints) : undefined;
    const target: CloudTarget = {
      provider: a.provider as CloudProviderName,
      region: ref.region,
      ...(a.credentialsCiphertext ? { credentials: JSON.parse(decrypt(key, a.credentialsCiphertext, { table: 'CloudAccount', id: a.id })) as CloudCredentials } : {}),
      ...(endpoints ? { endpoints } : {}),
    };
    const value = { provider: build(target), target };
    cache.set(k, { at: Date.now(), value });
    return value;
  };
}

/** The account's endpoints, normalised, or a permanent CloudError saying which one is refused and why. */
function storedEndpoints(policy: EndpointPolicy, accountId: string, json: string): CloudEndpoints {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    parsed = undefined;
  }
  const r = policy.checkEndpoints(parsed);
  if (r.ok) return r.endpoints;
  throw new CloudError('invalid', `cloud account ${accountId}: ${r.field}: ${endpointRefusal(r.reason)}`);
}
