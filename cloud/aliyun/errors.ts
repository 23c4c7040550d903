// Maps what the Alibaba Cloud SDK throws onto the controller's CloudError kinds, keeping the
// provider's own code and message so an operator can look the code up in Alibaba's docs. Nothing
// else of a reply is kept (see ../remote-text.ts): an error body that is not {Code, Message}, or no
// JSON at all, is described by its status alone.
import { CloudError, type CloudErrorKind } from '../types';
import { cleanMessage, providerCodeOf, unexpectedReply } from '../remote-text';

/** The fields of an SDK error (ClientError, ServerError, ThrottlingError) we rely on. */
interface SdkError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  data?: unknown;
  retryAfter?: unknown;
  name?: unknown;
}

/** A route table (or VPC) is being changed: wait for its entries to settle and retry. */
const busyCodes = new Set([
  'IncorrectRouteEntryStatus',
  'IncorrcetRouteEntryStatus', // sic: DeleteRouteEntry documents this misspelling too.
  'TaskConflict',
  'IncorrectStatus.RouteTableStatus',
  'IncorrectStatus.VpcRouteEntry',
  'OperationFailed.DistibuteLock', // sic
  'LastTokenProcessing',
  'OperationFailed.LastTokenProcessing',
  'OperationConflict',
  'IncorrectVpcStatus',
  'SystemBusy',
  // Batch APIs' per-entry code for an entry in a transitional ("middle") status; undocumented, seen
  // in kubernetes/cloud-provider-alibaba-cloud's VPC mock next to the two documented batch codes.
  'VPC_ROUTE_ENTRY_STATUS_ERROR',
]);

/** The destination is already routed in that table (maybe by us: see createRoute). */
export const duplicateRouteCodes: ReadonlySet<string> = new Set([
  'InvalidCIDRBlock.Duplicate',
  'RouteConflict.AlreadyExist',
  'InvalidRouteEntry.Duplicate',
  'OperationFailed.CidrConflictWithPrefixList',
  // CreateRouteEntries' per-entry FailedCode (documented example in its response).
  'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE',
]);

const authCodes = new Set([
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidAccessKeySecret',
  'InvalidTimeStamp.Expired',
  'Forbidden',
  'Forbidden.RAM',
  'Forbidden.NoPermission',
  'Forbidden.AccessDenied',
  'NoPermission',
  'Forbidden.Unauthorized',
]);

/** Codes that mean "the thing named does not exist" without ending in NotFound. */
const notFoundCodes = new Set(['OperationFailed.InstanceDismatchCurrentVpc', 'IllegalParam.NextHopId']);

function kindOf(code: string, status: number | undefined): CloudErrorKind {
  if (/^(InvalidAccessKeyId|InvalidSecurityToken)(\.|$)/.test(code) || authCodes.has(code)) return 'auth';
  if (code.startsWith('Throttling')) return 'throttled';
  if (busyCodes.has(code)) return 'busy';
  if (duplicateRouteCodes.has(code)) return 'conflict';
  if (/^(QuotaExceeded|AuthorizationLimitExceed|CountLimitExceed)/.test(code)) return 'quota';
  // InvalidAction.NotFound means a wrong endpoint or API version, not a missing resource.
  if ((/NotFound$/.test(code) && code !== 'InvalidAction.NotFound') || notFoundCodes.has(code)) return 'not_found';
  // A replayed nonce or a 5xx is the service's problem: a new attempt signs afresh.
  if (code === 'SignatureNonceUsed' || (status !== undefined && status >= 500)) return 'unavailable';
  return 'invalid';
}

/** The SDK's parsed error body: {Code, Message} (RPC APIs) or {code, message} (ROA), or anything at all. */
function errorFields(sdkError: SdkError): { code?: string; message?: string } {
  const data = typeof sdkError.data === 'object' && sdkError.data !== null ? (sdkError.data as Record<string, unknown>) : {};
  const code = providerCodeOf(data.Code ?? data.code);
  const message = cleanMessage(data.Message ?? data.message);
  return { ...(code ? { code } : {}), ...(message ? { message } : {}) };
}

/** Kind of a reply that carried no Alibaba error code, from its HTTP status. */
function kindOfStatus(status: number): CloudErrorKind {
  if (status === 429) return 'throttled';
  if (status === 401 || status === 403) return 'auth';
  if (status >= 500) return 'unavailable';
  return 'invalid';
}

/** Transport failures (refused, reset, timed out) never reached the API: retry. */
function isTransportError(sdkError: SdkError): boolean {
  const code = typeof sdkError.code === 'string' ? sdkError.code : '';
  const name = typeof sdkError.name === 'string' ? sdkError.name : '';
  return /^(ECONN|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|UND_ERR)/.test(code) || /Timeout/i.test(name) || /timeout/i.test(String(sdkError.message));
}

/**
 * The SDK parses every answer itself, so a body that is not JSON (a proxy's HTML page, a metadata
 * listing) fails inside it: JSON.parse's SyntaxError quotes the body, its "not a object" check
 * fires on JSON that is no object, and the XML parser (for text/xml error bodies) reports a
 * position and character. None of them names a status.
 */
function isUnparseableReply(err: unknown): boolean {
  if (err instanceof SyntaxError) return true;
  return err instanceof Error && (/^The value is not a object$/.test(err.message) || /\nLine: \d+\nColumn: \d+\nChar: /.test(err.message));
}

/** Converts anything an SDK call threw into a CloudError naming the API that failed. */
export function toCloudError(err: unknown, api: string): CloudError {
  if (err instanceof CloudError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as SdkError;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined) {
    const { code, message } = errorFields(e);
    if (code === undefined) {
      // An error status without an Alibaba error code: not the provider's answer, so none of it is shown.
      return new CloudError(kindOfStatus(status), `aliyun ${api}: ${unexpectedReply(status, 'no Alibaba Cloud error code in the body')}`, `HTTP${status}`);
    }
    const kind = kindOf(code, status);
    const retryAfterMs = kind === 'throttled' && typeof e.retryAfter === 'number' ? e.retryAfter : undefined;
    return new CloudError(kind, `aliyun ${api}: ${code}: ${message ?? 'no message'}`, code, retryAfterMs);
  }
  // Retried: a proxy's error page is usually passing trouble, and the status is unknown here.
  if (isUnparseableReply(err)) return new CloudError('unavailable', `aliyun ${api}: ${unexpectedReply(undefined, 'not an Alibaba Cloud JSON document')}`);
  // What follows was raised on this side (sockets, timeouts, our code, the credential chain), not
  // read from a reply; it is still cleaned and cut, as it may end up in front of users.
  const local = cleanMessage(e.message) ?? 'unknown error';
  if (isTransportError(e)) return new CloudError('unavailable', `aliyun ${api}: ${local}`);
  // Our own bugs must not be retried forever.
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError) {
    return new CloudError('invalid', `aliyun ${api}: ${local}`);
  }
  // The credential chain found nothing (no env keys, no profile, no instance role).
  if (/credential/i.test(String(e.message))) return new CloudError('auth', `aliyun ${api}: ${local}`);
  return new CloudError('unavailable', `aliyun ${api}: ${local}`);
}

/**
 * The batch APIs report failed entries with their own code style (VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE,
 * VPC_ROUTER_ENTRY_NOT_EXIST are the only documented ones). Known codes of either style go through
 * the single-entry mapping; other UPPER_SNAKE codes are classified by their words.
 */
function kindOfEntryCode(code: string): CloudErrorKind {
  if (busyCodes.has(code) || duplicateRouteCodes.has(code) || !/^[A-Z0-9_]+$/.test(code)) return kindOf(code, undefined);
  if (/DUPLICATE|ALREADY_EXIST|CONFLICT/.test(code)) return 'conflict';
  if (/NOT_EXIST|NOT_FOUND/.test(code)) return 'not_found';
  if (/QUOTA|LIMIT_EXCEED/.test(code)) return 'quota';
  if (/STATUS|BUSY|LOCK|CONCURREN/.test(code)) return 'busy';
  return 'invalid';
}

/** The CloudError for one failed entry of a batch call (FailedCode/FailedMessage of the response). */
export function entryError(api: string, code: string | undefined, message: string | undefined): CloudError {
  const c = providerCodeOf(code) ?? 'Unknown';
  return new CloudError(kindOfEntryCode(c), `aliyun ${api}: ${c}: ${cleanMessage(message) ?? 'no message'}`, c);
}

/** Runs one SDK call, turning its failure into a CloudError that names the API. */
export async function call<T>(api: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toCloudError(e, api);
  }
}
