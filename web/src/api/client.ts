// The console's only door to the REST API: openapi-fetch typed by the API's paths, the bearer
// token added to every call, a 401 turned into a request for the token, and every error answer
// turned into an ApiError carrying the API's own words ({"error": {code, message, details}}).
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import type * as T from './types';
import { authHeaders, tokenRejected } from './auth';

export type { Gateway, Link, LinkEvent, LinkState, LinkPlanPreview, Teardown, CloudAccount, CreatedGateway, Provider, PlanSide, RouteSpec, PeerRule, Role, WhoAmI, ApiToken, IssuedApiToken, AuditRecord, AuditList, AuditQuery } from './types';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const auth: Middleware = {
  onRequest({ request }) {
    for (const [name, value] of Object.entries(authHeaders())) request.headers.set(name, value);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) tokenRejected();
    return response;
  },
};

/** Built lazily so tests can replace globalThis.fetch before the first call. */
let client: ReturnType<typeof createClient<paths>> | undefined;
function api() {
  if (!client) {
    client = createClient<paths>({ baseUrl: '', fetch: (req) => globalThis.fetch(req) });
    client.use(auth);
  }
  return client;
}

interface Result<D> {
  data?: D;
  error?: unknown;
  response: Response;
}

/** The data of a 2xx answer, or an ApiError with the API's message. */
async function unwrap<D>(call: Promise<Result<D>>): Promise<D> {
  let result: Result<D>;
  try {
    result = await call;
  } catch (err) {
    throw new ApiError(0, 'network', `the controller could not be reached (${err instanceof Error ? err.message : String(err)})`);
  }
  if (result.response.ok) return result.data as D;
  throw errorOf(result.response.status, result.error);
}

export function errorOf(status: number, body: unknown): ApiError {
  const error = (body as Partial<T.ErrorBody> | undefined)?.error;
  if (error && typeof error.message === 'string') return new ApiError(status, error.code, error.message, error.details);
  const fallback = status === 401 ? 'the API token is missing or wrong' : `the controller answered ${status}`;
  return new ApiError(status, status === 401 ? 'unauthorized' : 'http', fallback);
}

const id = (value: string) => ({ params: { path: { id: value } } });

export const apiClient = {
  listGateways: () => unwrap(api().GET('/api/gateways')).then((d) => d.gateways),
  getGateway: (gatewayId: string) => unwrap(api().GET('/api/gateways/{id}', id(gatewayId))),
  createGateway: (body: T.NewGateway) => unwrap(api().POST('/api/gateways', { body })),
  updateGateway: (gatewayId: string, body: T.GatewayChange) => unwrap(api().PATCH('/api/gateways/{id}', { ...id(gatewayId), body })),
  deleteGateway: (gatewayId: string) => unwrap(api().DELETE('/api/gateways/{id}', id(gatewayId))).then(() => undefined),
  rotateSecret: (gatewayId: string) => unwrap(api().POST('/api/gateways/{id}/secret', { ...id(gatewayId), body: {} })),

  listLinks: () => unwrap(api().GET('/api/links')).then((d) => d.links),
  getLink: (linkId: string) => unwrap(api().GET('/api/links/{id}', id(linkId))),
  createLink: (body: T.NewLink) => unwrap(api().POST('/api/links', { body })),
  planLink: (linkId: string, cidrs: T.LinkCidrs) => unwrap(api().POST('/api/links/{id}/plan', { ...id(linkId), body: { cidrs } })),
  changeLink: (linkId: string, cidrs: T.LinkCidrs) => unwrap(api().PATCH('/api/links/{id}', { ...id(linkId), body: { cidrs } })),
  deleteLink: (linkId: string) => unwrap(api().DELETE('/api/links/{id}', id(linkId))),
  teardown: (linkId: string) => unwrap(api().GET('/api/links/{id}/teardown', id(linkId))),

  listAccounts: () => unwrap(api().GET('/api/cloud-accounts')).then((d) => d.accounts),
  createAccount: (body: T.NewCloudAccount) => unwrap(api().POST('/api/cloud-accounts', { body })),
  deleteAccount: (accountId: string) => unwrap(api().DELETE('/api/cloud-accounts/{id}', id(accountId))).then(() => undefined),

  whoami: () => unwrap(api().GET('/api/whoami')),
  listTokens: () => unwrap(api().GET('/api/tokens')).then((d) => d.tokens),
  createToken: (body: T.NewApiToken) => unwrap(api().POST('/api/tokens', { body })),
  revokeToken: (tokenId: string) => unwrap(api().DELETE('/api/tokens/{id}', id(tokenId))).then(() => undefined),

  /** A page of the audit trail, newest first; the next page is asked for with its nextCursor. */
  listAudit: (query: T.AuditQuery = {}) => unwrap(api().GET('/api/audit', { params: { query } })),
};
export type ApiClient = typeof apiClient;
