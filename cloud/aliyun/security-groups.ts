// Security-group rules for IKE (UDP 500) and NAT-T (UDP 4500) from one peer (an address, or a CIDR
// such as 0.0.0.0/0 for a peer whose address is unknown), both in ONE call through the Permissions
// array. Alibaba security groups take TCP/UDP/ICMP/GRE/ALL only, so there is no ESP rule: the
// tunnel is always UDP-encapsulated behind the cloud's 1:1 NAT anyway.
import * as $Ecs from '@alicloud/ecs20140526';
import { peerSource } from '../peer-source';
import { CloudError, type PeerRule } from '../types';
import { aliyunCapabilities } from './capabilities';
import type { AliyunClients } from './clients';
import { call } from './errors';

interface Permission {
  ipProtocol: string;
  portRange: string;
  sourceCidrIp?: string;
  ipv6SourceCidrIp?: string;
  policy: string;
  priority: string;
  description: string;
}

function permissions(rule: PeerRule): Permission[] {
  const { family, cidr } = peerSource(rule.peerIp);
  const source = family === 4 ? { sourceCidrIp: cidr } : { ipv6SourceCidrIp: cidr };
  return ['500/500', '4500/4500'].map((portRange) => ({
    ipProtocol: 'UDP',
    portRange,
    ...source,
    policy: 'accept',
    priority: '1',
    description: rule.description,
  }));
}

/** AuthorizeSecurityGroup; an identical existing rule is accepted by the API as success. */
export async function allowPeer(clients: AliyunClients, rule: PeerRule): Promise<void> {
  await allowPeers(clients, [rule]);
}

/** Several peers in one group, in one AuthorizeSecurityGroup call (Permissions.N, at most 100). */
export async function allowPeers(clients: AliyunClients, rules: readonly PeerRule[]): Promise<void> {
  const group = oneGroup(rules);
  if (!group) return;
  const req = new $Ecs.AuthorizeSecurityGroupRequest({
    regionId: clients.regionId,
    securityGroupId: group,
    permissions: rules.flatMap(permissions).map((p) => new $Ecs.AuthorizeSecurityGroupRequestPermissions(p)),
  });
  await call('AuthorizeSecurityGroup', () => clients.ecs.authorizeSecurityGroup(req));
}

function oneGroup(rules: readonly PeerRule[]): string | undefined {
  const most = aliyunCapabilities.peerRulesPerCall;
  if (rules.length > most) throw new CloudError('invalid', `at most ${most} peers' rules fit one call (${rules.length} given)`);
  const groups = new Set(rules.map((r) => r.securityGroupId));
  if (groups.size > 1) throw new CloudError('invalid', `one call takes the rules of one security group (${[...groups].join(', ')} given)`);
  return rules[0]?.securityGroupId;
}

/**
 * RevokeSecurityGroup by Permissions; a rule that does not exist is success (documented). The API
 * matches rules by protocol, ports, source and policy, not by description: if an identical rule
 * existed before allowPeer (so allowPeer added nothing), this removes that rule too.
 */
export async function revokePeer(clients: AliyunClients, rule: PeerRule): Promise<void> {
  await revokePeers(clients, [rule]);
}

/** Several peers' rules of one group in one RevokeSecurityGroup call. */
export async function revokePeers(clients: AliyunClients, rules: readonly PeerRule[]): Promise<void> {
  const group = oneGroup(rules);
  if (!group) return;
  const req = new $Ecs.RevokeSecurityGroupRequest({
    regionId: clients.regionId,
    securityGroupId: group,
    permissions: rules.flatMap(permissions).map((p) => new $Ecs.RevokeSecurityGroupRequestPermissions(p)),
  });
  await call('RevokeSecurityGroup', () => clients.ecs.revokeSecurityGroup(req));
}
