// The provider's mapping of Alibaba Cloud error codes onto CloudError kinds, and endpoint parsing:
// pure functions, checked without a server for codes the fake never sends.
import { describe, expect, it } from 'vitest';
import { toCloudError } from '../../cloud/aliyun/errors';
import { parseEndpoint } from '../../cloud/aliyun';
import { CloudError } from '../../cloud/types';

/** What the SDK throws for an HTTP error answer. */
const sdkErr = (code: string, statusCode = 400, extra: Record<string, unknown> = {}) => ({
  name: statusCode >= 500 ? 'ServerError' : 'ClientError',
  code,
  statusCode,
  message: `code: ${statusCode}, msg request id: R`,
  data: { Code: code, Message: 'msg', RequestId: 'R' },
  ...extra,
});

describe('toCloudError', () => {
  it.each([
    ['Throttling.User', 400, 'throttled'],
    ['Throttling.Api', 400, 'throttled'],
    ['IncorrectRouteEntryStatus', 400, 'busy'],
    ['IncorrcetRouteEntryStatus', 400, 'busy'],
    ['TaskConflict', 400, 'busy'],
    ['IncorrectStatus.RouteTableStatus', 400, 'busy'],
    ['OperationFailed.DistibuteLock', 400, 'busy'],
    ['LastTokenProcessing', 403, 'busy'],
    ['InvalidCIDRBlock.Duplicate', 400, 'conflict'],
    ['RouteConflict.AlreadyExist', 400, 'conflict'],
    ['QuotaExceeded', 400, 'quota'],
    ['AuthorizationLimitExceed', 403, 'quota'],
    ['InvalidRouteTableId.NotFound', 404, 'not_found'],
    ['InvalidNextHopId.NotFound', 404, 'not_found'],
    ['OperationFailed.InstanceDismatchCurrentVpc', 404, 'not_found'],
    ['InvalidCidrBlock', 400, 'invalid'],
    ['InvalidCidrBlock.Malformed', 400, 'invalid'],
    ['IdempotentParameterMismatch', 400, 'invalid'],
    ['InvalidAction.NotFound', 404, 'invalid'],
    ['InvalidAccessKeyId.NotFound', 404, 'auth'],
    ['InvalidAccessKeyId.Inactive', 400, 'auth'],
    ['SignatureDoesNotMatch', 400, 'auth'],
    ['Forbidden.RAM', 403, 'auth'],
    ['Forbidden.NoPermission', 403, 'auth'],
    ['InvalidSecurityToken.Expired', 400, 'auth'],
    ['SignatureNonceUsed', 400, 'unavailable'],
    ['ServiceUnavailable', 503, 'unavailable'],
    ['InternalError', 500, 'unavailable'],
    ['VPC.ERROR', 500, 'unavailable'],
  ] as const)('%s (%i) -> %s', (code, status, kind) => {
    const e = toCloudError(sdkErr(code, status), 'CreateRouteEntry');
    expect([e.kind, e.providerCode]).toEqual([kind, code]);
    expect(e.message).toBe(`aliyun CreateRouteEntry: ${code}: msg`);
  });

  it('keeps the SDK throttling hint', () => {
    expect(toCloudError(sdkErr('Throttling.User', 400, { retryAfter: 1500 }), 'X').retryAfterMs).toBe(1500);
    expect(toCloudError(sdkErr('TaskConflict', 400, { retryAfter: 1500 }), 'X').retryAfterMs).toBeUndefined();
  });

  it('transport failures are unavailable, our own bugs are not retried, CloudErrors pass through', () => {
    expect(toCloudError({ name: 'RequestTimeoutError', message: 'ReadTimeout(200).' }, 'X').kind).toBe('unavailable');
    expect(toCloudError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'X').kind).toBe('unavailable');
    expect(toCloudError(new TypeError('x is undefined'), 'X').kind).toBe('invalid');
    expect(toCloudError(new Error('unable to get credentials from any of the providers in the chain'), 'X').kind).toBe('auth');
    const own = new CloudError('quota', 'q');
    expect(toCloudError(own, 'X')).toBe(own);
  });
});

describe('parseEndpoint', () => {
  it.each([
    ['http://127.0.0.1:9000', { endpoint: '127.0.0.1:9000', protocol: 'http' }],
    ['https://vpc-vpc.cn-hangzhou.aliyuncs.com/', { endpoint: 'vpc-vpc.cn-hangzhou.aliyuncs.com', protocol: 'https' }],
    ['vpc.cn-hangzhou.aliyuncs.com', { endpoint: 'vpc.cn-hangzhou.aliyuncs.com', protocol: 'https' }],
    ['ecs.internal:8443', { endpoint: 'ecs.internal:8443', protocol: 'https' }],
  ])('%s', (input, expected) => {
    expect(parseEndpoint(input)).toEqual(expected);
  });

  it.each(['ftp://host', 'http://host/path', 'http://user:pw@host', 'not a host', 'http://h:1?x=1'])('refuses %s', (input) => {
    expect(() => parseEndpoint(input)).toThrow(CloudError);
  });
});
