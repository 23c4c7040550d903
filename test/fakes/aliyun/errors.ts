// The fake's error vocabulary: every code it can send, with the HTTP status and message Alibaba
// Cloud documents for it, so a caller sees exactly what the real API would answer.
//
// Sources (the API references' "Error codes" tables, read through the search tool):
// - VPC CreateRouteEntry: https://www.alibabacloud.com/help/en/virtual-private-cloud/latest/createrouteentry
// - VPC DeleteRouteEntry: https://alibabacloud.com/help/en/vpc/api-deleterouteentry
// - VPC CreateRouteEntries / DeleteRouteEntries:
//   https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-createrouteentries
//   https://alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-deleterouteentries
// - ECS AuthorizeSecurityGroup / ModifySecurityGroupRule reference tables (ECS API reference)
// - ClientToken idempotence: https://www.alibabacloud.com/help/doc-detail/36569.htm (VPC) and
//   https://www.alibabacloud.com/help/doc-detail/25693.htm (ECS; LastTokenProcessing is 403 in ECS tables)
// - Gateway errors (auth, throttling, 5xx): the products' common error codes and the V3 signature
//   doc https://help.aliyun.com/document_detail/2593177.html

/** An error the fake answers with: `{ Code, Message, RequestId }` and `status`. */
export class ApiError extends Error {
  override name = 'ApiError';
  /** Extra response headers (x-acs-retry-after on throttling, when enabled). */
  headers: Record<string, string> = {};
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Known {
  status: number;
  message: string;
}

const known: Record<string, Known> = {
  // Gateway: authentication, signature, routing of the action.
  'InvalidAccessKeyId.NotFound': { status: 404, message: 'Specified access key is not found.' },
  SignatureDoesNotMatch: { status: 400, message: 'Specified signature is not matched with our calculation.' },
  IncompleteSignature: { status: 400, message: 'The request signature does not conform to Aliyun standards.' },
  SignatureNonceUsed: { status: 400, message: 'Specified signature nonce was used already.' },
  'InvalidTimeStamp.Expired': { status: 400, message: 'Specified time stamp or date value is expired.' },
  'InvalidSecurityToken.Mismatch': { status: 400, message: 'Specified SecurityToken mismatch with the AccessKey.' },
  'InvalidAction.NotFound': { status: 404, message: 'Specified api is not found, please check your url and method.' },
  'Throttling.User': { status: 400, message: 'Request was denied due to user flow control.' },
  InternalError: {
    status: 500,
    message: 'The request processing has failed due to some unknown error, exception or failure.',
  },
  ServiceUnavailable: { status: 503, message: 'The request has failed due to a temporary failure of the server.' },
  // Parameters and idempotence (common to every RPC product).
  MissingParameter: { status: 400, message: 'Miss mandatory parameter.' },
  InvalidParameter: { status: 400, message: 'The specified parameter is not valid.' },
  DryRunOperation: { status: 400, message: 'Request validation has been passed with DryRun flag set.' },
  IdempotentParameterMismatch: {
    status: 400,
    message: 'Request uses a client token in a previous request but is not identical to that request.',
  },
  LastTokenProcessing: { status: 403, message: 'The last token request is processing.' },
  // VPC route tables and entries (CreateRouteEntry / DeleteRouteEntry tables).
  'InvalidRouteTableId.NotFound': { status: 404, message: 'Specified route table does not exist.' },
  // CreateRouteEntries error table (DeleteRouteEntries documents only DryRunOperation and TaskConflict).
  'MissingParam.RouteTableId': { status: 400, message: 'The parameter RouteTableId is missing.' },
  'InvalidNextHopId.NotFound': { status: 404, message: 'Specified next hop does not exist.' },
  'OperationFailed.InstanceDismatchCurrentVpc': {
    status: 404,
    message: 'The specified instance does not exist in current vpc.',
  },
  InvalidNextHopType: { status: 400, message: 'Specified parameter "NextHopType" is not valid.' },
  'InvalidCidrBlock.Malformed': { status: 400, message: 'Specified CIDR block is not valid.' },
  InvalidCidrBlock: { status: 400, message: 'Specified CIDR block is not valid.' },
  'InvalidCIDRBlock.Duplicate': { status: 400, message: 'Specified CIDR block is already exists.' },
  'RouteConflict.AlreadyExist': { status: 400, message: 'Route conflict exists in routing table.' },
  QuotaExceeded: { status: 400, message: 'Route entry quota exceeded in this route table.' },
  IncorrectRouteEntryStatus: { status: 400, message: 'Some route entry status blocked this operation.' },
  TaskConflict: { status: 400, message: 'The operation is too frequent, please wait a moment and try again.' },
  'IncorrectStatus.RouteTableStatus': { status: 400, message: 'The status of the specified RouteTable is incorrect.' },
  'OperationFailed.DistibuteLock': { status: 400, message: 'Distibute lock fail.' },
  'InvalidRouteEntry.NotFound': { status: 400, message: 'Route entry not exists.' },
  'InvalidRouteEntryId.NotFound': { status: 400, message: 'Specified RouteEntryId does not exist.' },
  OperationDenied: { status: 400, message: 'Specified operation is denied as route entry type is system.' },
  Forbbiden: { status: 400, message: 'Specified RouteEntry cannot allowed delete by openApi.' },
  'IllegalParam.NextToken': { status: 400, message: 'The specified NextToken is illegal.' },
  // ECS security groups (AuthorizeSecurityGroup / RevokeSecurityGroup tables).
  'InvalidSecurityGroupId.NotFound': { status: 404, message: 'The specified SecurityGroupId does not exist.' },
  'InvalidIpProtocol.ValueNotSupported': {
    status: 400,
    message: 'The parameter IpProtocol must be specified with case insensitive TCP, UDP, ICMP, GRE or All.',
  },
  'InvalidIpProtocol.Malformed': { status: 400, message: 'The specified parameter "PortRange" is not valid.' },
  'OperationDenied.PortRange': {
    status: 400,
    message: 'The specified IpProtocol does not exist or IpProtocol and PortRange do not match.',
  },
  'InvalidSourceCidrIp.Malformed': { status: 400, message: 'The specified parameter "SourceCidrIp" is not valid.' },
  'InvalidParam.SourceCidrIp': { status: 400, message: 'The specified param SourceCidrIp is not valid.' },
  'InvalidParam.Ipv6SourceCidrIp': { status: 400, message: 'The specified parameter Ipv6SourceCidrIp is not valid.' },
  'InvalidParam.SourceIp': {
    status: 400,
    message: 'The Parameters SourceCidrIp and Ipv6SourceCidrIp in Permissions cannot be set at the same time.',
  },
  'MissingParameter.Source': {
    status: 400,
    message: 'One of the parameters SourceCidrIp, SourceGroupId or SourcePrefixListId must be specified.',
  },
  'InvalidPolicy.Malformed': { status: 400, message: 'The specified parameter "Policy" is not valid.' },
  'InvalidPriority.ValueNotSupported': { status: 400, message: 'The parameter Priority is invalid.' },
  'InvalidSecurityGroupDiscription.Malformed': {
    status: 400,
    message: 'The specified security group rule description is not valid.',
  },
  AuthorizationLimitExceed: {
    status: 403,
    message: 'The limit of authorization records in the security group reaches.',
  },
  'InvalidParam.SecurityGroupRuleId': {
    status: 400,
    message: 'The specified parameter SecurityGroupRuleId is not valid.',
  },
};

/** The documented status and message of `code`, if the fake knows it. */
export function describeCode(code: string): Known | undefined {
  return known[code];
}

/** Builds the documented error for `code`; `message` overrides the documented text. */
export function apiError(code: string, message?: string): ApiError {
  const k = known[code];
  if (!k) throw new Error(`fake: unknown error code ${code}`);
  // "OperationDenied.PortRange" is the fake's internal name for ECS's plain OperationDenied.
  const wire = code === 'OperationDenied.PortRange' ? 'OperationDenied' : code;
  return new ApiError(wire, k.status, message ?? k.message);
}

export const missing = (name: string): ApiError =>
  apiError('MissingParameter', `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);

export const invalidParam = (name: string): ApiError =>
  apiError('InvalidParameter', `The specified parameter "${name}" is not valid.`);
