// Discovery from a public IP: which instance owns it and what network it sits in. The interpreting
// functions are pure, so the branches an emulator cannot produce are unit-tested on SDK shapes.
import {
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  DescribeVpcsCommand,
  type EC2Client,
  type Instance,
  type InstanceNetworkInterface,
  type Reservation,
  type RouteTable,
  type Vpc,
} from '@aws-sdk/client-ec2';
import { CloudError, type DiscoverOptions, type DiscoveredGateway } from '../types';
import { ec2Call } from './errors';
import { retryRead } from '../read-retry';

// A terminated instance can still be listed for a while; it owns nothing any more.
const gone = new Set(['terminated', 'shutting-down']);

/** The one live instance in a DescribeInstances(ip-address) answer; not_found for none, invalid for several. */
export function pickGatewayInstance(reservations: Reservation[] | undefined, publicIp: string): Instance {
  const live = (reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => !gone.has(i.State?.Name ?? ''));
  if (live.length === 0) throw new CloudError('not_found', `no EC2 instance has the public IP ${publicIp}`);
  if (live.length > 1) {
    const ids = live.map((i) => i.InstanceId ?? '?').join(', ');
    throw new CloudError('invalid', `several EC2 instances have the public IP ${publicIp}: ${ids}`);
  }
  return live[0]!;
}

function holdsIp(eni: InstanceNetworkInterface, publicIp: string): boolean {
  return eni.Association?.PublicIp === publicIp || (eni.PrivateIpAddresses ?? []).some((p) => p.Association?.PublicIp === publicIp);
}

/** What the instance itself tells about the gateway: everything except the VPC's CIDRs and tables. */
export function gatewayFacts(instance: Instance, publicIp: string): Omit<DiscoveredGateway, 'vpcCidrs' | 'routeTableIds'> {
  const { InstanceId: instanceId, VpcId: vpcId, SubnetId: subnetId } = instance;
  if (!instanceId || !vpcId || !subnetId) {
    throw new CloudError('invalid', `EC2 instance ${instanceId ?? '?'} with public IP ${publicIp} is not in a VPC subnet`);
  }
  const enis = instance.NetworkInterfaces ?? [];
  const primary = enis.find((n) => n.Attachment?.DeviceIndex === 0) ?? enis[0];
  // IKE arrives on the interface that holds the public IP, so its groups and NAT target are what count.
  const front = enis.find((n) => holdsIp(n, publicIp)) ?? primary;
  const natTarget = front?.PrivateIpAddresses?.find((p) => p.Association?.PublicIp === publicIp)?.PrivateIpAddress;
  const privateIp = natTarget ?? instance.PrivateIpAddress;
  if (!privateIp) throw new CloudError('invalid', `EC2 instance ${instanceId} has no private IPv4 address`);
  const groups = front?.Groups?.length ? front.Groups : (instance.SecurityGroups ?? []);
  return {
    instanceId,
    privateIp,
    publicIp,
    vpcId,
    subnetId,
    ...(primary?.NetworkInterfaceId ? { networkInterfaceId: primary.NetworkInterfaceId } : {}),
    securityGroupIds: groups.map((g) => g.GroupId).filter((id): id is string => !!id),
  };
}

/**
 * Every associated IPv4 block of the VPC, primary first. IPv6 blocks are left out: they are public
 * address space, not networks one routes through a tunnel.
 */
export function vpcCidrs(vpc: Vpc): string[] {
  const assoc = (vpc.CidrBlockAssociationSet ?? []).filter((a) => a.CidrBlockState?.State === 'associated' && a.CidrBlock);
  const cidrs = assoc.map((a) => a.CidrBlock!);
  const primary = vpc.CidrBlock;
  return primary ? [primary, ...cidrs.filter((c) => c !== primary)] : cidrs;
}

/** One read: waits for its turn (the caller's budget slot), then calls; a throttled read is retried the same way. */
type Read = <T>(operation: string, request: () => Promise<T>) => Promise<T>;

function reader(options: DiscoverOptions): Read {
  const beforeCall = options.beforeCall ?? (async () => undefined);
  return (operation, request) =>
    retryRead(async () => {
      await beforeCall();
      return ec2Call(operation, request);
    });
}

async function routeTablesOf(client: EC2Client, read: Read, vpcId: string): Promise<RouteTable[]> {
  const tables: RouteTable[] = [];
  let token: string | undefined;
  do {
    const page = await read('DescribeRouteTables', () => client.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }], NextToken: token })));
    tables.push(...(page.RouteTables ?? []));
    token = page.NextToken;
  } while (token);
  return tables;
}

/** Three reads (more when route tables page): DescribeInstances, then DescribeVpcs and DescribeRouteTables. */
export async function discoverGateway(client: EC2Client, publicIp: string, options: DiscoverOptions = {}): Promise<DiscoveredGateway> {
  const read = reader(options);
  const found = await read('DescribeInstances', () => client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'ip-address', Values: [publicIp] }] })));
  const facts = gatewayFacts(pickGatewayInstance(found.Reservations, publicIp), publicIp);
  const [vpcs, tables] = await Promise.all([
    read('DescribeVpcs', () => client.send(new DescribeVpcsCommand({ VpcIds: [facts.vpcId] }))),
    routeTablesOf(client, read, facts.vpcId),
  ]);
  const vpc = vpcs.Vpcs?.[0];
  if (!vpc) throw new CloudError('not_found', `VPC ${facts.vpcId} of instance ${facts.instanceId} was not found`);
  return {
    ...facts,
    vpcCidrs: vpcCidrs(vpc),
    routeTableIds: tables.map((table) => table.RouteTableId).filter((id): id is string => !!id),
  };
}
