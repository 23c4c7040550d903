// Maps what the Alibaba Cloud SDK throws onto the controller's CloudError kinds, keeping the
// provider's own code and message so an operator can look the code up in Alibaba's docs.
import { CloudError, type CloudErrorKind } from '../types';

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
]);

/** The destination is already routed in that table (maybe by us: see createRoute). */
export const duplicateRouteCodes: ReadonlySet<string> = new Set([
  'InvalidCIDRBlock.Duplicate',
  'RouteConflict.AlreadyExist',
  'InvalidRouteEntry.Duplicate',
  'OperationFailed.CidrConflictWithPrefixList',
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

function providerMessage(e: SdkError): string {
  const data = e.data as { Message?: unknown } | undefined;
  if (data && typeof data.Message === 'string') return data.Message;
  return typeof e.message === 'string' ? e.message : 'unknown error';
}

/** Transport failures (refused, reset, timed out) never reached the API: retry. */
function isTransportError(e: SdkError): boolean {
  const code = typeof e.code === 'string' ? e.code : '';
  const name = typeof e.name === 'string' ? e.name : '';
  return /^(ECONN|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|UND_ERR)/.test(code) || /Timeout/i.test(name) || /timeout/i.test(String(e.message));
}

/** Converts anything an SDK call threw into a CloudError naming the API that failed. */
export function toCloudError(err: unknown, api: string): CloudError {
  if (err instanceof CloudError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as SdkError;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const code = typeof e.code === 'string' && status !== undefined ? e.code : undefined;
  if (code !== undefined) {
    const kind = kindOf(code, status);
    const retryAfterMs = kind === 'throttled' && typeof e.retryAfter === 'number' ? e.retryAfter : undefined;
    return new CloudError(kind, `aliyun ${api}: ${code}: ${providerMessage(e)}`, code, retryAfterMs);
  }
  if (isTransportError(e)) return new CloudError('unavailable', `aliyun ${api}: ${providerMessage(e)}`);
  // Our own bugs must not be retried forever.
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError) {
    return new CloudError('invalid', `aliyun ${api}: ${err.message}`);
  }
  // The credential chain found nothing (no env keys, no profile, no instance role).
  if (/credential/i.test(String(e.message))) return new CloudError('auth', `aliyun ${api}: ${providerMessage(e)}`);
  return new CloudError('unavailable', `aliyun ${api}: ${providerMessage(e)}`);
}

/** Runs one SDK call, turning its failure into a CloudError that names the API. */
export async function call<T>(api: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toCloudError(e, api);
  }
}
