// The AWS provider's pure interpreters, on EC2 answer shapes moto cannot produce (a blackhole route,
// an EIP on a secondary address, IPv6 peers).
import type { Instance, Reservation } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { gatewayFacts, pickGatewayInstance, vpcCidrs } from '../../cloud/aws/discover';
import { findRoute, routeStateOf } from '../../cloud/aws/routes';
import { peerPermissions } from '../../cloud/aws/security-groups';
import { CloudError } from '../../cloud/types';

const ip = '203.0.113.10';
const instance = (id: string, state = 'running', extra: Partial<Instance> = {}): Instance => ({
  InstanceId: id,
  State: { Name: state as 'running' },
  VpcId: 'vpc-1',
  SubnetId: 'subnet-1',
  PrivateIpAddress: '10.10.1.4',
  PublicIpAddress: ip,
  SecurityGroups: [{ GroupId: 'sg-instance' }],
  ...extra,
});

describe('pickGatewayInstance', () => {
  it('returns the one live instance, ignoring terminated ones still listed', () => {
    const rs: Reservation[] = [{ Instances: [instance('i-old', 'terminated')] }, { Instances: [instance('i-gw')] }];
    expect(pickGatewayInstance(rs, ip).InstanceId).toBe('i-gw');
  });

  it('none → not_found', () => {
    expect(() => pickGatewayInstance([], ip)).toThrow(expect.objectContaining({ kind: 'not_found' }) as CloudError);
    expect(() => pickGatewayInstance(undefined, ip)).toThrow(`no EC2 instance has the public IP ${ip}`);
  });

  it('several → invalid, naming them', () => {
    const rs: Reservation[] = [{ Instances: [instance('i-a'), instance('i-b', 'stopped')] }];
    expect(() => pickGatewayInstance(rs, ip)).toThrow(expect.objectContaining({ kind: 'invalid' }) as CloudError);
    expect(() => pickGatewayInstance(rs, ip)).toThrow('i-a, i-b');
  });
});

describe('gatewayFacts', () => {
  it('takes the NAT target and groups from the interface that holds the public IP', () => {
    const i = instance('i-gw', 'running', {
      NetworkInterfaces: [
        { NetworkInterfaceId: 'eni-primary', Attachment: { DeviceIndex: 0 }, Groups: [{ GroupId: 'sg-primary' }], PrivateIpAddresses: [{ PrivateIpAddress: '10.10.1.4', Primary: true }] },
        {
          NetworkInterfaceId: 'eni-public',
          Attachment: { DeviceIndex: 1 },
          Groups: [{ GroupId: 'sg-ike' }],
          PrivateIpAddresses: [{ PrivateIpAddress: '10.10.1.9', Association: { PublicIp: ip } }],
        },
      ],
    });
    expect(gatewayFacts(i, ip)).toEqual({
      instanceId: 'i-gw',
      privateIp: '10.10.1.9',
      publicIp: ip,
      vpcId: 'vpc-1',
      subnetId: 'subnet-1',
      networkInterfaceId: 'eni-primary',
      securityGroupIds: ['sg-ike'],
    });
  });

  it('falls back to the instance fields when interfaces are not listed', () => {
    expect(gatewayFacts(instance('i-gw'), ip)).toMatchObject({ privateIp: '10.10.1.4', securityGroupIds: ['sg-instance'] });
    expect(gatewayFacts(instance('i-gw'), ip).networkInterfaceId).toBeUndefined();
  });

  it('an instance outside a VPC is invalid', () => {
    expect(() => gatewayFacts(instance('i-classic', 'running', { VpcId: undefined }), ip)).toThrow(CloudError);
  });
});

describe('vpcCidrs', () => {
  it('lists associated IPv4 blocks, primary first, and skips disassociated ones and IPv6', () => {
    expect(
      vpcCidrs({
        CidrBlock: '10.10.0.0/16',
        CidrBlockAssociationSet: [
          { CidrBlock: '10.11.0.0/16', CidrBlockState: { State: 'associated' } },
          { CidrBlock: '10.12.0.0/16', CidrBlockState: { State: 'disassociated' } },
          { CidrBlock: '10.10.0.0/16', CidrBlockState: { State: 'associated' } },
          { CidrBlock: '10.13.0.0/16', CidrBlockState: { State: 'associating' } },
        ],
        Ipv6CidrBlockAssociationSet: [{ Ipv6CidrBlock: '2600:1f18::/56', Ipv6CidrBlockState: { State: 'associated' } }],
      }),
    ).toEqual(['10.10.0.0/16', '10.11.0.0/16']);
  });
});

describe('routes', () => {
  const table = {
    RouteTableId: 'rtb-1',
    Routes: [
      { DestinationCidrBlock: '10.10.0.0/16', GatewayId: 'local', State: 'active' as const },
      { DestinationCidrBlock: '192.168.0.0/16', InstanceId: 'i-gw', NetworkInterfaceId: 'eni-gw', State: 'blackhole' as const },
      { DestinationCidrBlock: '172.16.0.0/12', NetworkInterfaceId: 'eni-other', State: 'active' as const },
      { DestinationIpv6CidrBlock: 'fd00:1::/64', TransitGatewayId: 'tgw-1', State: 'active' as const },
    ],
  };

  it('finds a route by IPv4 or IPv6 destination', () => {
    expect(findRoute(table, '192.168.0.0/16')?.InstanceId).toBe('i-gw');
    expect(findRoute(table, 'FD00:1::/64')?.TransitGatewayId).toBe('tgw-1');
    expect(findRoute(table, '192.168.0.0/24')).toBeUndefined();
  });

  it('reports status and next hop: instance, blackhole, ENI of something else, gateways', () => {
    expect(routeStateOf(findRoute(table, '192.168.0.0/16')!)).toEqual({ status: 'blackhole', instanceId: 'i-gw', nextHop: 'i-gw' });
    expect(routeStateOf(findRoute(table, '172.16.0.0/12')!)).toEqual({ status: 'active', nextHop: 'eni-other' });
    expect(routeStateOf(findRoute(table, '10.10.0.0/16')!)).toEqual({ status: 'active', nextHop: 'local' });
    expect(routeStateOf(findRoute(table, 'fd00:1::/64')!).nextHop).toBe('tgw-1');
  });
});

describe('peerPermissions', () => {
  it('IPv4 peer: /32 sources; IPv6 peer: /128 sources', () => {
    const v4 = peerPermissions({ securityGroupId: 'sg-1', peerIp: '198.51.100.7', description: 'd' });
    expect(v4.map((p) => [p.IpProtocol, p.FromPort, p.ToPort, p.IpRanges?.[0]?.CidrIp])).toEqual([
      ['udp', 500, 500, '198.51.100.7/32'],
      ['udp', 4500, 4500, '198.51.100.7/32'],
      ['50', -1, -1, '198.51.100.7/32'],
    ]);
    const v6 = peerPermissions({ securityGroupId: 'sg-1', peerIp: '2001:db8::7', description: 'd' });
    expect(v6.every((p) => p.Ipv6Ranges?.[0]?.CidrIpv6 === '2001:db8::7/128' && !p.IpRanges)).toBe(true);
  });
});
