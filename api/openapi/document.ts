// The OpenAPI 3.1 document of /api, generated from the operations' zod schemas: the request bodies
// the handlers validate with and the answers their views are typed by.
import { z } from 'zod';
import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { apiOperations } from './operations';
import { ApiError } from '../schemas/common';
import { ROUTE_ACCESS, rolesFor } from '../roles';
import { GENERIC_ERRORS, openApiPath, pathParams, withCommonErrors, type Answer, type Operation } from './operation';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

const BEARER = 'bearerAuth';

const sharedRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

function responseOf(answer: Answer): ResponseConfig | { $ref: string } {
  if (answer.shared) return sharedRef(answer.shared);
  if (answer.json) return { description: answer.description, content: { 'application/json': { schema: answer.json } } };
  if (answer.media) return { description: answer.description, content: Object.fromEntries(Object.entries(answer.media).map(([type, schema]) => [type, { schema }])) };
  return { description: answer.description };
}

function routeOf(op: Operation): RouteConfig {
  const names = pathParams(op.path);
  const params = names.length ? z.object(Object.fromEntries(names.map((name) => [name, z.string().meta({ description: `The ${name}` })]))) : undefined;
  const full = withCommonErrors(op);
  const access = ROUTE_ACCESS[`${op.method.toUpperCase()} ${op.path}`];
  const roles = access ? `Roles: ${rolesFor(access).join(', ')}.` : undefined;
  const description = [op.description, roles].filter(Boolean).join('\n\n');
  return {
    method: op.method,
    path: openApiPath(op.path),
    tags: [op.tag],
    summary: op.summary,
    ...(description ? { description } : {}),
    ...(access ? { 'x-roles': [...rolesFor(access)] } : {}),
    ...(op.public ? { security: [] } : {}),
    request: {
      ...(params ? { params } : {}),
      ...(op.query ? { query: op.query } : {}),
      ...(op.headers ? { headers: op.headers } : {}),
      ...(op.body ? { body: { required: !op.body.optional, content: { 'application/json': { schema: op.body.schema } } } } : {}),
    },
    responses: Object.fromEntries(Object.entries(full.responses).map(([status, answer]) => [status, responseOf(answer!)])),
  };
}

/** Builds the document (about 20 ms); callers keep the result. */
export function buildOpenApiDocument(operations: readonly Operation[] = apiOperations): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', BEARER, {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token (imt_…, with a role; POST /api/tokens or `npm run token`) or the controller\'s API_TOKEN (an admin). A loopback controller without API_TOKEN and without any unrevoked API token asks for none.',
  });
  for (const { name, description } of Object.values(GENERIC_ERRORS)) {
    registry.registerComponent('responses', name, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  }
  for (const op of operations) registry.registerPath(routeOf(op));
  // The error schema is given too: the shared responses refer to it by name.
  return new OpenApiGeneratorV31([...registry.definitions, ApiError], { sortComponents: 'alphabetically' }).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'ipsec-mesh API',
      version: '1',
      description:
        'Links networks with IPsec: register gateways, connect them, change what a link carries, watch it. Every error answer has the body `{ "error": { "code", "message", "details"? } }`.',
    },
    servers: [{ url: '/' }],
    security: [{ [BEARER]: [] }],
    tags: [
      { name: 'gateways', description: 'Sites: an on-prem network or a cloud VPC, each with a VPN container' },
      { name: 'links', description: 'IPsec links between two gateways, each driven by its own workflow' },
      { name: 'cloud accounts', description: 'Where the controller\'s cloud credentials come from' },
      { name: 'events', description: 'Live changes of gateways and links' },
      { name: 'audit', description: 'Who changed what, when (admin, auditor)' },
      { name: 'tokens', description: 'API tokens with roles (admin), and the caller\'s own role' },
      { name: 'meta', description: 'Health, this document and its docs page' },
    ],
  });
}
