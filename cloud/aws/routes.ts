// VPC route writes, one EC2 call each, and the read that tells what a route points at.
import {
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeRouteTablesCommand,
  ReplaceRouteCommand,
  type EC2Client,
  type Route,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { CloudError, type RouteSpec, type RouteState } from '../types';
import { ec2Call } from './errors';

type RouteKey = Pick<RouteSpec, 'routeTableId' | 'destinationCidr'>;

const isV6 = (cidr: string) => cidr.includes(':');

/** EC2 names the destination parameter by address family. */
function destination(cidr: string): { DestinationCidrBlock: string } | { DestinationIpv6CidrBlock: string } {
  return isV6(cidr) ? { DestinationIpv6CidrBlock: cidr } : { DestinationCidrBlock: cidr };
}

/** The route for `cidr` in a DescribeRouteTables table, if any. */
export function findRoute(table: RouteTable, cidr: string): Route | undefined {
  const want = cidr.toLowerCase();
  return (table.Routes ?? []).find((r) => (isV6(want) ? r.DestinationIpv6CidrBlock?.toLowerCase() : r.DestinationCidrBlock) === want);
}

/** A route as EC2 reports it: state active/blackhole, and the instance or other target it points at. */
export function routeStateOf(route: Route): RouteState {
  const nextHop =
    route.InstanceId ??
    route.NetworkInterfaceId ??
    route.GatewayId ??
    route.NatGatewayId ??
    route.TransitGatewayId ??
    route.VpcPeeringConnectionId ??
    route.LocalGatewayId ??
    route.CarrierGatewayId ??
    route.EgressOnlyInternetGatewayId ??
    route.CoreNetworkArn ??
    'unknown';
  return { status: route.State ?? 'active', ...(route.InstanceId ? { instanceId: route.InstanceId } : {}), nextHop };
}

/**
 * One CreateRoute call (CreateRoute takes no ClientToken, so none is sent). EC2's RouteAlreadyExists
 * does not say where the existing route points, so it is thrown as CloudError('conflict',
 * providerCode 'RouteAlreadyExists'): the caller must read getRoute and treat a route to the same
 * instance as success. This method therefore never resolves 'exists'.
 */
export async function createRoute(client: EC2Client, route: RouteSpec): Promise<'created'> {
  await ec2Call('CreateRoute', () =>
    client.send(new CreateRouteCommand({ RouteTableId: route.routeTableId, ...destination(route.destinationCidr), InstanceId: route.instanceId })),
  );
  return 'created';
}

/** One DescribeRouteTables call by table id (moto fails the route.instance-id filter, and it is not needed). */
export async function getRoute(client: EC2Client, key: RouteKey): Promise<RouteState | undefined> {
  const out = await ec2Call('DescribeRouteTables', () => client.send(new DescribeRouteTablesCommand({ RouteTableIds: [key.routeTableId] })));
  const table = out.RouteTables?.find((t) => t.RouteTableId === key.routeTableId);
  if (!table) throw new CloudError('not_found', `route table ${key.routeTableId} was not found`);
  const route = findRoute(table, key.destinationCidr);
  return route ? routeStateOf(route) : undefined;
}

const tableGone = new Set(['InvalidRouteTableID.NotFound', 'InvalidRouteTableId.NotFound']);

/**
 * One DeleteRoute call. 'absent' when there is no such route, or no such table any more (a route we
 * created cannot outlive its table). DeleteRoute does not check the next hop: callers that may have
 * lost ownership read getRoute first.
 */
export async function deleteRoute(client: EC2Client, route: RouteSpec): Promise<'deleted' | 'absent'> {
  try {
    await ec2Call('DeleteRoute', () => client.send(new DeleteRouteCommand({ RouteTableId: route.routeTableId, ...destination(route.destinationCidr) })));
    return 'deleted';
  } catch (err) {
    if (err instanceof CloudError && (err.providerCode === 'InvalidRoute.NotFound' || tableGone.has(err.providerCode ?? ''))) return 'absent';
    throw err;
  }
}

/**
 * One ReplaceRoute call pointing an existing route (one we own) at route.instanceId. EC2 answers a
 * missing route with InvalidParameterValue "no route defined"; that is thrown as 'not_found'.
 */
export async function replaceRoute(client: EC2Client, route: RouteSpec): Promise<void> {
  try {
    await ec2Call('ReplaceRoute', () =>
      client.send(new ReplaceRouteCommand({ RouteTableId: route.routeTableId, ...destination(route.destinationCidr), InstanceId: route.instanceId })),
    );
  } catch (err) {
    if (err instanceof CloudError && err.providerCode === 'InvalidParameterValue' && /no route defined/i.test(err.message)) {
      throw new CloudError('not_found', err.message, err.providerCode);
    }
    throw err;
  }
}
