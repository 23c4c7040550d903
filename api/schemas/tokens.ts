// /api/tokens and /api/whoami: the token request, a token as listed (never its secret), the one
// answer that shows the token, and who the caller is.
import { z } from 'zod';
import { ROLES } from '../roles';
import { Timestamp } from './common';

export const RoleName = z.enum(ROLES, { error: `expected ${ROLES.map((r) => `"${r}"`).join(', ')}` }).meta({
  id: 'Role',
  description: 'admin: everything; operator: gateways, links and changes; viewer: read only, never a secret; auditor: read only and the audit log',
});

export const TOKEN_NAME = z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9 ._@-]*$/, { error: 'letters, digits, space, . _ @ - only' });

export const CreateApiToken = z
  .strictObject({
    name: TOKEN_NAME,
    role: RoleName,
    expiresInDays: z.number().int().min(1).max(3650).optional().meta({ description: 'Days until the token stops working; absent: never' }),
  })
  .meta({ id: 'CreateApiToken' });

export const ApiTokenView = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    role: RoleName,
    prefix: z.string().meta({ description: 'The first characters of the token, to tell tokens apart' }),
    createdBy: z.string().meta({ description: 'Who issued it: "API_TOKEN", a token\'s name, "cli" or "anonymous"' }),
    createdAt: Timestamp,
    expiresAt: Timestamp.nullable(),
    lastUsedAt: Timestamp.nullable().meta({ description: 'Last use, to within a minute' }),
    revokedAt: Timestamp.nullable(),
    state: z.enum(['active', 'expired', 'revoked']),
  })
  .meta({ id: 'ApiToken' });
export type ApiTokenView = z.infer<typeof ApiTokenView>;

export const IssuedApiToken = ApiTokenView.extend({
  token: z.string().meta({ description: 'The token (imt_…): shown this once, only its hash is stored' }),
}).meta({ id: 'IssuedApiToken' });
export type IssuedApiTokenView = z.infer<typeof IssuedApiToken>;

export const ApiTokenList = z.strictObject({ tokens: z.array(ApiTokenView) }).meta({ id: 'ApiTokenList' });
export type ApiTokenListView = z.infer<typeof ApiTokenList>;

export const WhoAmI = z
  .strictObject({
    role: RoleName,
    actor: z.string().meta({ description: '"API_TOKEN", the token\'s name, or "anonymous" on an open loopback controller' }),
    via: z.enum(['shared-token', 'api-token', 'open']),
    tokenId: z.string().optional(),
  })
  .meta({ id: 'WhoAmI' });
export type WhoAmIView = z.infer<typeof WhoAmI>;
