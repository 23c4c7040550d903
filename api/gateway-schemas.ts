// The request bodies of /api/gateways, as zod schemas: the routes validate with them and the
// OpenAPI document is generated from the same exports, so the two cannot drift apart.
import { z } from 'zod';
import { isIP } from 'node:net';
import { normaliseIp } from '../lib/net';
import { allowDefaultRoute, cidrList } from './cidr-fields';
import { PROVIDER_NAMES } from '../cloud/capabilities';

export const GatewayName = z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, { error: 'letters, digits, space, . _ - only' });
/** An IPv4-mapped address is kept as the IPv4 address it is; a zone id belongs to one host's interface. */
export const IpAddress = z
  .string()
  .refine((s) => isIP(s) !== 0 && !s.includes('%'), { error: 'expected an IPv4 or IPv6 address (without a zone id such as %eth0)' })
  .transform((s) => normaliseIp(s) ?? s);

/** Whether peers can open a connection to the site (false: a masquerading NAT, a firewall letting nothing in). */
const inbound = z.boolean({ error: 'expected true or false' });
export const OnpremGateway = z.object({ name: GatewayName, provider: z.literal('onprem'), cidrs: cidrList, publicIp: IpAddress.optional(), inbound: inbound.optional(), allowDefaultRoute }).strict();
/**
 * What an operator may change about a gateway later: its name (any gateway); an on-prem site's
 * networks and reachability. null clears a reachability statement.
 */
export const UpdateGateway = z
  .object({
    name: GatewayName.optional(),
    cidrs: cidrList.optional(),
    allowDefaultRoute,
    publicIp: IpAddress.nullable().optional(),
    inbound: inbound.nullable().optional(),
  })
  .strict()
  .refine((u) => u.name !== undefined || u.cidrs !== undefined || u.publicIp !== undefined || u.inbound !== undefined, {
    error: 'give at least one of name, cidrs, publicIp, inbound (null clears publicIp or inbound)',
  });
/** A cloud gateway is described by its public IP alone; everything else is discovered. */
export const CloudGateway = z
  .object({
    name: GatewayName,
    provider: z.enum(PROVIDER_NAMES),
    region: z.string().regex(/^[a-z]{2}(-[a-z0-9]+)+$/, { error: 'expected a region id such as cn-hangzhou or us-east-1' }),
    publicIp: IpAddress,
    account: z.string().min(1, { error: 'expected a cloud account id' }),
    /** Route tables to write; default: every route table of the VPC. */
    routeTables: z.array(z.string().min(1)).min(1).max(50).optional(),
  })
  .strict();
export const CreateGateway = z.discriminatedUnion('provider', [OnpremGateway, CloudGateway]);
/** Checked first, so a body missing both name and provider hears about both. */
export const GATEWAY_KINDS = ['onprem', ...PROVIDER_NAMES] as const;
export const GatewayCommon = z.looseObject({
  name: GatewayName,
  provider: z.enum(GATEWAY_KINDS, { error: `expected ${GATEWAY_KINDS.map((kind) => `"${kind}"`).join(', ').replace(/, ([^,]*)$/, ' or $1')}` }),
});

/** POST /api/gateways/:id/enrolment-token. */
export const IssueEnrolmentToken = z
  .object({
    ttlSeconds: z.int({ error: 'expected a whole number of seconds' }).min(60, { error: 'at least 60' }).max(3600, { error: 'at most 3600' }).optional(),
  })
  .strict();

/** POST /api/gateways/:id/secret takes no options: an empty body or {}. */
export const RotateSecret = z.object({}).strict();
