// ECS security-group rules: AuthorizeSecurityGroup, RevokeSecurityGroup, DescribeSecurityGroupAttribute.
// Documented behaviour reproduced (ECS API reference and the remarks in @alicloud/ecs20140526):
// - SourceCidrIp is an IPv4 CIDR or address, Ipv6SourceCidrIp an IPv6 one, never both in one rule
//   (InvalidParam.SourceIp); 0.0.0.0/0 and ::/0 are valid and mean every source of that family.
// - IpProtocol is case-insensitive TCP/UDP/ICMP/GRE/ALL only (so no ESP):
//   InvalidIpProtocol.ValueNotSupported; ICMP/GRE/ALL take PortRange -1/-1.
// - A rule is identified by source, PortRange, IpProtocol and Policy; authorizing an existing rule
//   "succeeds but no rule is added"; revoking by Permissions a rule that does not exist "succeeds
//   but no rule is deleted"; revoking by a SecurityGroupRuleId that does not exist fails
//   (InvalidParam.SecurityGroupRuleId, since July 2024).
// - Several rules per call through Permissions.N.*; the flat parameters describe one rule.
import { apiError, missing } from './errors';
import type { ApiHandler, HandlerContext } from './context';
import { inRegion, parseSource } from './context';
import { newId, type RuleRecord, type SecurityGroupRecord } from './model';
import type { Params } from './params';

const protocols = new Set(['TCP', 'UDP', 'ICMP', 'GRE', 'ALL']);
type RuleSpec = Omit<RuleRecord, 'securityGroupRuleId' | 'createdAt'>;

function findGroup(ctx: HandlerContext): SecurityGroupRecord {
  ctx.params.require('RegionId');
  const sg = ctx.cloud.securityGroups.get(ctx.params.require('SecurityGroupId'));
  if (!sg || !inRegion(ctx.params, sg.regionId)) throw apiError('InvalidSecurityGroupId.NotFound');
  return sg;
}

/**
 * SourceCidrIp takes IPv4 only and Ipv6SourceCidrIp IPv6 only, each a CIDR (0.0.0.0/0 and ::/0,
 * every source, included) or an address. Text that is no CIDR at all is InvalidSourceCidrIp.Malformed
 * (IPv4 field) or InvalidParam.Ipv6SourceCidrIp; an IPv6 value in SourceCidrIp was reported from the
 * real API as InvalidParam.SourceCidrIp. An IPv4-mapped IPv6 network ("::ffff:0:0/96") is refused
 * as IPv6: undocumented, but it is an IPv4 source in disguise.
 */
function sourceOfFamily(text: string, family: 4 | 6): string {
  const code = family === 6 ? 'InvalidParam.Ipv6SourceCidrIp' : 'InvalidSourceCidrIp.Malformed';
  const source = parseSource(text, () => apiError(code));
  if (source.family !== family) throw apiError(family === 6 ? code : 'InvalidParam.SourceCidrIp');
  return source.text;
}

function parseRule(f: Record<string, string | undefined>): RuleSpec {
  if (!f.IpProtocol) throw missing('IpProtocol');
  const ipProtocol = f.IpProtocol.toUpperCase();
  if (!protocols.has(ipProtocol)) throw apiError('InvalidIpProtocol.ValueNotSupported');
  if (!f.PortRange) throw missing('PortRange');
  const m = /^(-?\d+)\/(-?\d+)$/.exec(f.PortRange);
  if (!m) throw apiError('InvalidIpProtocol.Malformed');
  const [from, to] = [Number(m[1]), Number(m[2])];
  if (ipProtocol === 'TCP' || ipProtocol === 'UDP') {
    if (from < 1 || to > 65535 || from > to) throw apiError('InvalidIpProtocol.Malformed');
  } else if (from !== -1 || to !== -1) {
    throw apiError('OperationDenied.PortRange');
  }
  const policy = (f.Policy ?? 'accept').toLowerCase();
  if (policy !== 'accept' && policy !== 'drop') throw apiError('InvalidPolicy.Malformed');
  const priority = f.Priority === undefined ? 1 : Number(f.Priority);
  if (!Number.isInteger(priority) || priority < 1 || priority > 100) throw apiError('InvalidPriority.ValueNotSupported');
  const description = f.Description ?? '';
  if (description.length > 512 || /^https?:\/\//.test(description)) throw apiError('InvalidSecurityGroupDiscription.Malformed');
  const spec: RuleSpec = {
    ipProtocol,
    portRange: f.PortRange,
    policy: policy === 'accept' ? 'Accept' : 'Drop',
    priority,
    description,
  };
  if (f.SourceCidrIp && f.Ipv6SourceCidrIp) throw apiError('InvalidParam.SourceIp');
  if (f.SourceCidrIp) spec.sourceCidrIp = sourceOfFamily(f.SourceCidrIp, 4);
  if (f.Ipv6SourceCidrIp) spec.ipv6SourceCidrIp = sourceOfFamily(f.Ipv6SourceCidrIp, 6);
  if (f.SourceGroupId) spec.sourceGroupId = f.SourceGroupId;
  if (f.SourcePrefixListId) spec.sourcePrefixListId = f.SourcePrefixListId;
  if (!spec.sourceCidrIp && !spec.ipv6SourceCidrIp && !spec.sourceGroupId && !spec.sourcePrefixListId) {
    throw apiError('MissingParameter.Source');
  }
  return spec;
}

/** The rules a request describes: Permissions.N.* when present, else the flat parameters. */
function requestedRules(p: Params): RuleSpec[] {
  const listed = p.list('Permissions');
  if (listed.length > 0) return listed.map(parseRule);
  const flat = ['IpProtocol', 'PortRange', 'Policy', 'Priority', 'Description', 'SourceCidrIp', 'Ipv6SourceCidrIp', 'SourceGroupId', 'SourcePrefixListId'];
  return [parseRule(Object.fromEntries(flat.map((k) => [k, p.get(k)])))];
}

/** Same rule in the API's sense: source, port range, protocol and policy (not description). */
function sameRule(a: RuleSpec, b: RuleSpec): boolean {
  return (
    a.ipProtocol === b.ipProtocol &&
    a.portRange === b.portRange &&
    a.policy === b.policy &&
    a.sourceCidrIp === b.sourceCidrIp &&
    a.ipv6SourceCidrIp === b.ipv6SourceCidrIp &&
    a.sourceGroupId === b.sourceGroupId &&
    a.sourcePrefixListId === b.sourcePrefixListId
  );
}

const authorizeSecurityGroup: ApiHandler = {
  handle(ctx) {
    const sg = findGroup(ctx);
    const wanted = requestedRules(ctx.params).filter((r, i, all) => all.findIndex((o) => sameRule(o, r)) === i);
    const fresh = wanted.filter((r) => !sg.rules.some((existing) => sameRule(existing, r)));
    if (sg.rules.length + fresh.length > ctx.behaviour.sgRuleQuota) throw apiError('AuthorizationLimitExceed');
    for (const r of fresh) sg.rules.push({ ...r, securityGroupRuleId: newId('sgr'), createdAt: ctx.now });
    return {};
  },
};

const revokeSecurityGroup: ApiHandler = {
  handle(ctx) {
    const sg = findGroup(ctx);
    const ids = ctx.params.list('SecurityGroupRuleId').map((o) => o[''] ?? '');
    if (ids.length > 0) {
      if (ids.some((id) => !sg.rules.some((r) => r.securityGroupRuleId === id))) throw apiError('InvalidParam.SecurityGroupRuleId');
      sg.rules = sg.rules.filter((r) => !ids.includes(r.securityGroupRuleId));
      return {};
    }
    const wanted = requestedRules(ctx.params);
    sg.rules = sg.rules.filter((r) => !wanted.some((w) => sameRule(w, r)));
    return {};
  },
};

const describeSecurityGroupAttribute: ApiHandler = {
  handle(ctx) {
    const sg = findGroup(ctx);
    const direction = ctx.params.get('Direction') ?? 'all';
    const rules = direction === 'egress' ? [] : sg.rules;
    return {
      SecurityGroupId: sg.securityGroupId,
      SecurityGroupName: sg.name,
      VpcId: sg.vpcId,
      RegionId: sg.regionId,
      Description: '',
      InnerAccessPolicy: 'Accept',
      NextToken: '',
      Permissions: {
        Permission: rules.map((r) => ({
          SecurityGroupRuleId: r.securityGroupRuleId,
          Direction: 'ingress',
          IpProtocol: r.ipProtocol,
          PortRange: r.portRange,
          SourceCidrIp: r.sourceCidrIp ?? '',
          Ipv6SourceCidrIp: r.ipv6SourceCidrIp ?? '',
          SourceGroupId: r.sourceGroupId ?? '',
          SourcePrefixListId: r.sourcePrefixListId ?? '',
          Policy: r.policy,
          Priority: String(r.priority),
          Description: r.description,
          NicType: 'intranet',
          CreateTime: new Date(r.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        })),
      },
    };
  },
};

export const ecsSecurityGroupHandlers: Record<string, ApiHandler> = {
  AuthorizeSecurityGroup: authorizeSecurityGroup,
  RevokeSecurityGroup: revokeSecurityGroup,
  DescribeSecurityGroupAttribute: describeSecurityGroupAttribute,
};
