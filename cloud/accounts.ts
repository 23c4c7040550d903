// Cloud accounts as stored: credentials encrypted at rest with the controller's key, never
// returned or logged. Builds providers for activities, cached briefly per account and region.
import { z } from 'zod';
import type { Db } from '../db';
import { decrypt, encrypt, type SecretKey } from '../lib/crypto';
import type { CloudAccountRef, ProviderFor } from '../activities/cloud';
import type { CloudCredentials, CloudEndpoints, CloudProvider, CloudProviderName, CloudTarget } from './types';
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

export function providerResolver(db: Db, key: SecretKey, opts: { cacheMs?: number; build?: (t: CloudTarget) => CloudProvider } = {}): ProviderFor {
  const cache = new Map<string, { at: number; value: { provider: CloudProvider; target: CloudTarget } }>();
  const ttl = opts.cacheMs ?? 60_000;
  const build = opts.build ?? createProvider;
  return async (ref: CloudAccountRef) => {
    const k = `${ref.accountId}|${ref.region}`;
    const hit = cache.get(k);
    if (hit && Date.now() - hit.at < ttl) return hit.value;
    const a = await db.cloudAccount.findUnique({ where: { id: ref.accountId } });
    if (!a) throw new Error(`cloud account ${ref.accountId} not found`);
    const target: CloudTarget = {
      provider: a.provider as CloudProviderName,
      region: ref.region,
      ...(a.credentialsCiphertext ? { credentials: JSON.parse(decrypt(key, a.credentialsCiphertext, { table: 'CloudAccount', id: a.id })) as CloudCredentials } : {}),
      ...(a.endpoints ? { endpoints: JSON.parse(a.endpoints) as CloudEndpoints } : {}),
    };
    const value = { provider: build(target), target };
    cache.set(k, { at: Date.now(), value });
    return value;
  };
}
