// The API's paths in openapi-typescript's shape, written by hand for the calls the console makes,
// until the generated web/src/api/schema.d.ts (npm run api:types) replaces this file.
import type * as T from './types';

type Json<B> = { content: { 'application/json': B } };
type Res<S extends number, B> = { [K in S]: { headers: Record<string, unknown> } & Json<B> };
type Err = { default: { headers: Record<string, unknown> } & Json<T.ErrorBody> };
type Id = { path: { id: string } };
type WithBody<Body> = [Body] extends [never] ? { requestBody?: never } : { requestBody: Json<Body> };
type Op<P, Body, Out> = {
  parameters: { query?: never; header?: never; path: P extends { path: infer X } ? X : never; cookie?: never };
  responses: Out & Err;
} & WithBody<Body>;
type NoPath = { query?: never; header?: never; path?: never; cookie?: never };
type Top<Body, Out> = { parameters: NoPath; responses: Out & Err } & WithBody<Body>;

export interface paths {
  '/api/gateways': {
    get: Top<never, Res<200, { gateways: T.Gateway[] }>>;
    post: Top<T.NewOnpremGateway | T.NewCloudGateway, Res<201, T.CreatedGateway>>;
  };
  '/api/gateways/{id}': {
    get: Op<Id, never, Res<200, T.Gateway>>;
    patch: Op<Id, T.GatewayChange, Res<200, T.Gateway>>;
    delete: Op<Id, never, { 204: { headers: Record<string, unknown>; content?: never } }>;
  };
  '/api/gateways/{id}/secret': {
    post: Op<Id, Record<string, never>, Res<200, { agentSecret: string }>>;
  };
  '/api/links': {
    get: Top<never, Res<200, { links: T.Link[] }>>;
    post: Top<{ a: string; b: string; cidrs?: { a?: string[]; b?: string[] } }, Res<202, T.Link>>;
  };
  '/api/links/{id}': {
    get: Op<Id, never, Res<200, T.Link>>;
    patch: Op<Id, { cidrs: { a?: string[]; b?: string[] } }, Res<200 | 202, T.Link & { plan: T.LinkPlanPreview }>>;
    delete: Op<Id, never, Res<202, T.Link>>;
  };
  '/api/links/{id}/plan': {
    post: Op<Id, { cidrs: { a?: string[]; b?: string[] } }, Res<200, T.LinkPlanPreview>>;
  };
  '/api/cloud-accounts': {
    get: Top<never, Res<200, { accounts: T.CloudAccount[] }>>;
    post: Top<T.NewCloudAccount, Res<201, T.CloudAccount>>;
  };
  '/api/cloud-accounts/{id}': {
    delete: Op<Id, never, { 204: { headers: Record<string, unknown>; content?: never } }>;
  };
}
