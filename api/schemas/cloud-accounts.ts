// /api/cloud-accounts: the request body the route validates with and the account it shows, whose
// keys never come back.
import { z } from 'zod';
import { CredentialsSchema, EndpointsSchema } from '../../cloud/accounts';
import { PROVIDER_NAMES } from '../../cloud/capabilities';
import { Timestamp } from './common';

export const CloudProvider = z.enum(PROVIDER_NAMES, { error: `expected ${PROVIDER_NAMES.map((name) => `"${name}"`).join(' or ')}` }).meta({ id: 'CloudProvider' });

export const CreateCloudAccount = z
  .strictObject({
    name: z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, { error: 'letters, digits, space, . _ - only' }),
    provider: CloudProvider,
    credentials: CredentialsSchema.optional().meta({ description: 'Access keys, encrypted at rest and never shown back; without them the provider\'s default chain (env, instance role) is used' }),
    endpoints: EndpointsSchema.optional().meta({ description: 'Endpoint overrides per service, allowed by CLOUD_ENDPOINT_ALLOW' }),
  })
  .meta({ id: 'CreateCloudAccount' });

export const CloudAccount = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    provider: CloudProvider,
    credentials: z.enum(['stored (encrypted)', 'provider default chain']),
    endpoints: z.record(z.string(), z.string()),
    createdAt: Timestamp,
  })
  .meta({ id: 'CloudAccount' });
export type CloudAccountView = z.infer<typeof CloudAccount>;

export const CloudAccountList = z.strictObject({ accounts: z.array(CloudAccount) }).meta({ id: 'CloudAccountList' });
export type CloudAccountListView = z.infer<typeof CloudAccountList>;
