// Security-group rules for one IPsec peer: IKE (UDP 500), NAT-T (UDP 4500) and ESP (IP protocol 50),
// written and removed together in one EC2 call each. The peer is an address, or a CIDR such as
// 0.0.0.0/0 for a peer whose address is unknown.
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { peerSource, sameSource } from '../peer-source';
import { CloudError, type PeerRule } from '../types';
import { ec2Call } from './errors';

const ESP = '50';

/**
 * The three ingress permissions allowPeer writes, from peerIp alone, carrying the rule description.
 * A peerIp that is neither an address nor a CIDR is CloudError('invalid').
 */
export function peerPermissions(rule: PeerRule): IpPermission[] {
  const { family, cidr } = peerSource(rule.peerIp);
  const source =
    family === 6 ? { Ipv6Ranges: [{ CidrIpv6: cidr, Description: rule.description }] } : { IpRanges: [{ CidrIp: cidr, Description: rule.description }] };
  return [
    { IpProtocol: 'udp', FromPort: 500, ToPort: 500, ...source },
    { IpProtocol: 'udp', FromPort: 4500, ToPort: 4500, ...source },
    // EC2 ignores ports for protocols other than TCP/UDP/ICMP, but moto needs them as -1.
    { IpProtocol: ESP, FromPort: -1, ToPort: -1, ...source },
  ];
}

const hasCode = (err: unknown, codes: string[]) => err instanceof CloudError && codes.includes(err.providerCode ?? '');

/**
 * One AuthorizeSecurityGroupIngress call with all three permissions; an existing rule is success.
 * EC2 rejects the whole call when any one of them exists, so a set left partial by someone else
 * stays partial: peerRulesPresent tells.
 */
export async function allowPeer(client: EC2Client, rule: PeerRule): Promise<void> {
  const permissions = peerPermissions(rule);
  try {
    await ec2Call('AuthorizeSecurityGroupIngress', () =>
      client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: rule.securityGroupId, IpPermissions: permissions })),
    );
  } catch (err) {
    if (!hasCode(err, ['InvalidPermission.Duplicate'])) throw err;
  }
}

/**
 * One RevokeSecurityGroupIngress call with the same three permissions; a missing rule or group is
 * success. EC2 matches rules by protocol, ports and source, not by description, and in a non-default
 * VPC revokes nothing when any one of them is missing.
 */
export async function revokePeer(client: EC2Client, rule: PeerRule): Promise<void> {
  const permissions = peerPermissions(rule);
  try {
    await ec2Call('RevokeSecurityGroupIngress', () =>
      client.send(new RevokeSecurityGroupIngressCommand({ GroupId: rule.securityGroupId, IpPermissions: permissions })),
    );
  } catch (err) {
    if (!hasCode(err, ['InvalidPermission.NotFound', 'InvalidGroup.NotFound'])) throw err;
  }
}

export interface PresentPeerRule {
  ruleId: string;
  protocol: 'udp' | 'esp';
  /** 500 or 4500 for UDP; undefined for ESP. */
  port?: number;
  description?: string;
}

/**
 * Which of allowPeer's rules for rule.peerIp the group has now (DescribeSecurityGroupRules, paged
 * reads): those whose source is exactly peerIp's range, so the any-source rules (0.0.0.0/0) and a
 * specific peer's (/32) are told apart.
 */
export async function peerRulesPresent(client: EC2Client, rule: Omit<PeerRule, 'description'>): Promise<PresentPeerRule[]> {
  const source = peerSource(rule.peerIp);
  const rules: SecurityGroupRule[] = [];
  let token: string | undefined;
  do {
    const page = await ec2Call('DescribeSecurityGroupRules', () =>
      client.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [rule.securityGroupId] }], NextToken: token })),
    );
    rules.push(...(page.SecurityGroupRules ?? []));
    token = page.NextToken;
  } while (token);
  const present: PresentPeerRule[] = [];
  for (const r of rules) {
    if (r.IsEgress || !sameSource(r.CidrIpv4 ?? r.CidrIpv6, source) || !r.SecurityGroupRuleId) continue;
    const desc = r.Description ? { description: r.Description } : {};
    if (r.IpProtocol === ESP) present.push({ ruleId: r.SecurityGroupRuleId, protocol: 'esp', ...desc });
    else if (r.IpProtocol === 'udp' && r.FromPort === r.ToPort && (r.FromPort === 500 || r.FromPort === 4500)) {
      present.push({ ruleId: r.SecurityGroupRuleId, protocol: 'udp', port: r.FromPort, ...desc });
    }
  }
  return present;
}
