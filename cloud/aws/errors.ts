// Maps whatever the EC2 SDK throws (service errors parsed from EC2's XML, unparseable HTTP answers,
// socket errors) onto the CloudError vocabulary, keeping EC2's own code and message and nothing
// else of the reply (see ../remote-text.ts): a body without an EC2 error is described by its status.
import { CloudError, type CloudErrorKind } from '../types';
import { cleanMessage, providerCodeOf, requestIdOf, unexpectedReply } from '../remote-text';

// EC2 error codes, from the "Error codes for the Amazon EC2 API" reference.
const byCode: Record<string, CloudErrorKind> = {
  RequestLimitExceeded: 'throttled',
  Throttling: 'throttled',
  ThrottlingException: 'throttled',
  RequestThrottled: 'throttled',
  RequestThrottledException: 'throttled',
  TooManyRequestsException: 'throttled',
  AuthFailure: 'auth',
  UnauthorizedOperation: 'auth',
  InvalidClientTokenId: 'auth',
  SignatureDoesNotMatch: 'auth',
  IncompleteSignature: 'auth',
  MissingAuthenticationToken: 'auth',
  InvalidAccessKeyId: 'auth',
  ExpiredToken: 'auth',
  ExpiredTokenException: 'auth',
  UnrecognizedClientException: 'auth',
  AccessDenied: 'auth',
  AccessDeniedException: 'auth',
  OptInRequired: 'auth',
  Blocked: 'auth',
  PendingVerification: 'auth',
  // Thrown by the SDK's default credential chain when it finds no credentials at all.
  CredentialsProviderError: 'auth',
  RouteAlreadyExists: 'conflict',
  RouteLimitExceeded: 'quota',
  InvalidParameterValue: 'invalid',
  InvalidParameter: 'invalid',
  InvalidParameterCombination: 'invalid',
  MissingParameter: 'invalid',
  // Clock skew: the SDK corrects its clock offset from this very answer, so the next attempt succeeds.
  RequestExpired: 'unavailable',
  InternalError: 'unavailable',
  InternalFailure: 'unavailable',
  Unavailable: 'unavailable',
  ServiceUnavailable: 'unavailable',
  // The instance is still pending or the resource is mid-change: a later attempt can succeed.
  IncorrectInstanceState: 'busy',
  IncorrectState: 'busy',
  ConcurrentTagAccess: 'busy',
};

const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
const networkNames = new Set(['TimeoutError', 'RequestTimeout', 'AbortError']);

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $retryable?: { throttling?: boolean };
}

function kindOf(code: string, status: number | undefined, sdkError: SdkErrorShape): CloudErrorKind | undefined {
  // Older EC2 answers prefix codes with their fault class ("Client.UnauthorizedOperation").
  const bare = code.replace(/^(Client|Server)\./, '');
  const known = byCode[bare];
  if (known) return known;
  if (sdkError.$retryable?.throttling === true || status === 429) return 'throttled';
  if (networkCodes.has(bare) || networkNames.has(bare)) return 'unavailable';
  if (bare.endsWith('.NotFound')) return 'not_found';
  if (bare.endsWith('.Malformed') || bare.startsWith('InvalidCidr')) return 'invalid';
  if (bare.endsWith('LimitExceeded')) return 'quota';
  if (sdkError.$fault === 'server' || (status !== undefined && status >= 500)) return 'unavailable';
  if (status === 401 || status === 403) return 'auth';
  if (sdkError.$fault === 'client' || (status !== undefined && status >= 400)) return 'invalid';
  return undefined;
}

/**
 * The EC2 error code of a thrown SDK error ("RouteAlreadyExists"), or undefined for anything else,
 * including a "code" that is free text: then the reply was not EC2's.
 */
export function awsErrorCode(err: unknown): string | undefined {
  if (err instanceof CloudError) return err.providerCode;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as SdkErrorShape;
  if (typeof e.code === 'string' && e.code) return providerCodeOf(e.code);
  // "Unknown" is the SDK's name for an HTTP error whose body held no EC2 error code (a proxy's page).
  if (typeof e.name === 'string' && e.name && e.name !== 'Error' && e.name !== 'Unknown') return providerCodeOf(e.name);
  return undefined;
}

/** EC2's Message field (or a socket error's own text), cleaned and cut; never the rest of a body. */
function serviceMessage(sdkError: SdkErrorShape): string {
  return cleanMessage(sdkError.message) ?? 'no message';
}

/**
 * The CloudError for an error thrown by one EC2 call, or undefined when `err` is not from the SDK or
 * the network (a bug in our code should surface as itself, not as a cloud failure).
 */
export function toCloudError(err: unknown, operation: string): CloudError | undefined {
  if (err instanceof CloudError) return err;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const serviceCode = awsErrorCode(err);
  const request = requestIdOf(e.$metadata?.requestId);
  const requestNote = request ? ` (request ${request})` : '';
  if (serviceCode === undefined && status !== undefined) {
    // An answer without an EC2 error (a proxy's page, a metadata listing, a body the SDK could not
    // parse, even with 200): only its status is shown. A parse failure on a 2xx is retried.
    const kind = kindOf(`HTTP${status}`, status, e) ?? 'unavailable';
    return new CloudError(kind, `EC2 ${operation}: ${unexpectedReply(status, 'no EC2 error in the body')}${requestNote}`, `HTTP${status}`);
  }
  if (serviceCode === undefined) return undefined;
  const kind = kindOf(serviceCode, status, e);
  if (kind === undefined) return undefined;
  // Socket errors carry the SDK's own text (no reply was read); service errors EC2's Message.
  return new CloudError(kind, `EC2 ${operation}: ${serviceCode}: ${serviceMessage(e)}${requestNote}`, serviceCode);
}

/** Runs one SDK call and rethrows its failure as a CloudError. */
export async function ec2Call<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toCloudError(err, operation) ?? err;
  }
}
