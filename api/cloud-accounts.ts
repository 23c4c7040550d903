// /api/cloud-accounts: where the controller's cloud credentials come from. Keys are encrypted at
// rest and never returned; without keys the provider's standard chain (env, instance role) is used.
import { Router } from 'express';
import { conflict, invalid, notFound } from '../lib/errors';
import { sealCredentials } from '../cloud/accounts';
import { endpointPolicy, endpointRefusal } from '../cloud/endpoint-policy';
import { DuplicateError, type AccountRecord } from '../store';
import type { ApiContext } from './context';
import { endpointServicesOf } from '../cloud/capabilities';
import { newAccountId } from './ids';
import { parseBody } from './validate';
import { iso } from './schemas/common';
import { CreateCloudAccount, type CloudAccountListView, type CloudAccountView } from './schemas/cloud-accounts';

export function accountView(account: AccountRecord): CloudAccountView {
  return {
    id: account.id,
    name: account.name,
    // The store writes only these values (the contract checker verifies every answer in tests).
    provider: account.provider as CloudAccountView['provider'],
    credentials: account.credentialsCiphertext ? 'stored (encrypted)' : 'provider default chain',
    // A malformed stored value is shown as none: providers refuse to use it (cloud/accounts.ts).
    endpoints: 'set' in account.endpoints ? (account.endpoints.set ?? {}) : {},
    createdAt: iso(account.createdAt),
  };
}

export function cloudAccountRoutes(ctx: ApiContext): Router {
  const r = Router();
  // The allow-list comes from the controller's configuration (CLOUD_ENDPOINT_ALLOW), never from a
  // request: an API caller must not be able to send an account's signed requests anywhere.
  const endpoints = endpointPolicy(ctx.cloudEndpointAllow);

  r.post('/', async (req, res) => {
    const body = parseBody(CreateCloudAccount, req.body);
    const endpointKeys = Object.keys(body.endpoints ?? {});
    const allowed: readonly string[] = endpointServicesOf(body.provider);
    const wrong = endpointKeys.filter((key) => !allowed.includes(key));
    if (wrong.length) {
      const message = `${body.provider} takes endpoints ${allowed.join(' and ')}, not ${wrong.join(', ')}`;
      throw invalid(`invalid request: endpoints: ${message}`, { fields: wrong.map((key) => ({ field: `endpoints.${key}`, message })) });
    }
    const checked = body.endpoints ? endpoints.checkEndpoints(body.endpoints) : undefined;
    if (checked && !checked.ok) {
      const message = endpointRefusal(checked.reason);
      throw invalid(`invalid request: ${checked.field}: ${message}`, { fields: [{ field: checked.field, message }] });
    }
    const id = newAccountId();
    try {
      const account = await ctx.store.accounts.create({
        id,
        name: body.name,
        provider: body.provider,
        credentialsCiphertext: body.credentials ? sealCredentials(ctx.secretKey, id, body.credentials) : null,
        // Stored normalised: what was checked is what the providers will connect to.
        endpoints: checked?.ok ? checked.endpoints : null,
      });
      ctx.log.info('cloud account added', { accountId: account.id, provider: account.provider, withKeys: !!body.credentials });
      res.status(201).json(accountView(account));
    } catch (err) {
      if (err instanceof DuplicateError) throw conflict(`a cloud account named "${body.name}" already exists`);
      throw err;
    }
  });

  r.get('/', async (_req, res) => {
    const accounts = await ctx.store.accounts.list();
    res.json({ accounts: accounts.map(accountView) } satisfies CloudAccountListView);
  });

  r.get('/:id', async (req, res) => {
    const account = await ctx.store.accounts.get(req.params.id);
    if (!account) throw notFound('cloud account', req.params.id);
    res.json(accountView(account));
  });

  r.delete('/:id', async (req, res) => {
    const account = await ctx.store.accounts.get(req.params.id);
    if (!account) throw notFound('cloud account', req.params.id);
    const removed = await ctx.store.accounts.removeUnused(account.id);
    if ('usedBy' in removed) throw conflict(`cloud account ${account.name} is used by ${removed.usedBy.length} gateway(s)`, { gateways: removed.usedBy });
    res.status(204).end();
  });

  return r;
}
