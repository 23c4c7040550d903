// The contract of /api/tokens and /api/whoami.
import { ApiTokenList, CreateApiToken, IssuedApiToken, WhoAmI } from '../schemas/tokens';
import { errors, type Operation } from './operation';

const tag = 'tokens';

export const tokenOperations: Operation[] = [
  {
    method: 'post',
    path: '/api/tokens',
    tag,
    summary: 'Issue an API token (admin)',
    description: 'The answer shows the token once; only its SHA-256 is kept. Send it as `Authorization: Bearer imt_…`.',
    body: { schema: CreateApiToken },
    responses: { 201: { description: 'The token, shown this once', json: IssuedApiToken } },
  },
  { method: 'get', path: '/api/tokens', tag, summary: 'List API tokens (admin)', description: 'Never the tokens themselves: their prefix, role, creator, last use and expiry.', responses: { 200: { description: 'Every token, newest first', json: ApiTokenList } } },
  {
    method: 'delete',
    path: '/api/tokens/:id',
    tag,
    summary: 'Revoke an API token (admin)',
    description: 'At once on this controller, within 2 seconds on the others. Revoking a revoked token is a no-op.',
    responses: { 204: { description: 'Revoked' }, ...errors(404) },
  },
  { method: 'get', path: '/api/whoami', tag, summary: 'The caller\'s role (any role)', description: 'What the console reads to show only what the role may do.', responses: { 200: { description: 'The caller', json: WhoAmI } } },
];
