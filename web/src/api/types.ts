// What the console reads from and sends to the API, named once, from the types generated from
// the API's OpenAPI document (schema.d.ts, `npm run api:types`): a field the API renames or
// drops breaks the console's type check, not the console.
import type { components, paths } from './schema';

type S = components['schemas'];
type JsonBody<Op> = Op extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

export type Provider = S['GatewayProvider'];
export type LinkState = S['LinkState'];
/** The states a live link can be in, in the order the legend lists them. */
export const LINK_STATES: readonly LinkState[] = ['provisioning', 'up', 'updating', 'degraded', 'failed', 'deleting'];

export type Reachability = S['Reachability'];
export type Gateway = S['Gateway'];
export type CreatedGateway = S['RegisteredGateway'];
export type LinkEnd = S['LinkEnd'];
export type LinkEvent = S['LinkEvent'];
/** A link as the lists show it; GET /api/links/:id adds its events. */
export type Link = S['Link'] & { events?: LinkEvent[] };
export type LinkWithEvents = S['LinkWithEvents'];
export type RouteSpec = S['Route'];
export type PeerRule = S['SecurityGroupRule'];
export type TunnelConfig = S['TunnelConfig'];
export type PlanSide = S['ChangePreviewEnd'];
/** POST /api/links/:id/plan. */
export type LinkPlanPreview = S['ChangePreview'];
export type Teardown = S['Teardown'];
export type CloudAccount = S['CloudAccount'];
export type ErrorBody = S['Error'];

export type NewGateway = JsonBody<paths['/api/gateways']['post']>;
export type NewOnpremGateway = Extract<NewGateway, { provider: 'onprem' }>;
export type NewCloudGateway = Exclude<NewGateway, { provider: 'onprem' }>;
export type GatewayChange = JsonBody<paths['/api/gateways/{id}']['patch']>;
export type NewLink = S['CreateLink'];
export type LinkCidrs = S['ChangeLink']['cidrs'];
export type NewCloudAccount = S['CreateCloudAccount'];
export type Role = S['Role'];
export type WhoAmI = S['WhoAmI'];
export type ApiToken = S['ApiToken'];
export type IssuedApiToken = S['IssuedApiToken'];
export type NewApiToken = S['CreateApiToken'];
export type AuditRecord = S['AuditRecord'];
export type AuditList = S['AuditList'];
/** GET /api/audit's filters and paging. */
export type AuditQuery = NonNullable<paths['/api/audit']['get']['parameters']['query']>;
