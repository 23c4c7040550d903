// The provider's mapping of Alibaba Cloud error codes onto CloudError kinds, and endpoint parsing:
// pure functions, checked without a server for codes the fake never sends.
import { describe, expect, it } from 'vitest';
import { entryError, toCloudError } from '../../cloud/aliyun/errors';
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

describe('only the code and message of a reply are kept (issue 9 finding 5)', () => {
  /** What the SDK throws when an error body parsed as JSON but holds anything at all. */
  const bodyErr = (statusCode: number, data: unknown) => ({ name: 'ResponseError', code: 'x', statusCode, message: 'x', data });

  it('a body that is not JSON: JSON.parse quotes it, the CloudError does not', () => {
    let thrown: unknown;
    try {
      JSON.parse('<html>proxy page SECRET-PAGE</html>');
    } catch (e) {
      thrown = e;
    }
    const e = toCloudError(thrown, 'DescribeVpcs');
    expect(e).toMatchObject({ kind: 'unavailable' });
    expect(e.message).toBe('aliyun DescribeVpcs: unexpected reply (not an Alibaba Cloud JSON document)');
  });

  it('JSON that is no object, or broken XML, fails the SDK\'s own parsing: generic too', () => {
    expect(toCloudError(new Error('The value is not a object'), 'DescribeVpcs').message).toMatch(/unexpected reply/);
    const xml = toCloudError(new Error('Non-whitespace before first tag.\nLine: 0\nColumn: 1\nChar: S'), 'DescribeVpcs');
    expect(xml).toMatchObject({ kind: 'unavailable', message: 'aliyun DescribeVpcs: unexpected reply (not an Alibaba Cloud JSON document)' });
  });

  it.each([
    [400, 'invalid'],
    [403, 'auth'],
    [429, 'throttled'],
    [502, 'unavailable'],
  ] as const)('an error status without a Code (%i) is described by the status alone: %s', (status, kind) => {
    const e = toCloudError(bodyErr(status, { error: 'SECRET-FIELD', statusCode: status }), 'DescribeVpcs');
    expect({ kind: e.kind, providerCode: e.providerCode }).toEqual({ kind, providerCode: `HTTP${status}` });
    expect(e.message).toBe(`aliyun DescribeVpcs: unexpected reply: HTTP ${status} (no Alibaba Cloud error code in the body)`);
  });

  it('a Code that is free text is no code', () => {
    const e = toCloudError(bodyErr(400, { Code: 'Bad <b>code</b> SECRET', Message: 'SECRET' }), 'X');
    expect(e.providerCode).toBe('HTTP400');
    expect(e.message).not.toContain('SECRET');
  });

  it('other fields of the body never show; the lowercase {code, message} of ROA APIs is read too', () => {
    const e = toCloudError(bodyErr(400, { Code: 'InvalidParameter', Message: 'msg', Recommend: 'SECRET', HostId: 'SECRET', AccessDeniedDetail: { x: 'SECRET' } }), 'X');
    expect(e.message).toBe('aliyun X: InvalidParameter: msg');
    expect(toCloudError(bodyErr(404, { code: 'InvalidVpcId.NotFound', message: 'no vpc' }), 'X')).toMatchObject({ kind: 'not_found', message: 'aliyun X: InvalidVpcId.NotFound: no vpc' });
  });

  it('a Message is cut at 300 characters and loses its control characters', () => {
    const e = toCloudError(bodyErr(400, { Code: 'InvalidParameter', Message: `\u001b[2Jred\r\nforged\u0000 ${'x'.repeat(400)} TAIL` }), 'X');
    expect(e.message).toMatch(/^aliyun X: InvalidParameter: \[2Jred forged x+…$/);
    expect(e.message.length).toBeLessThan(340);
  });

  it('batch entries: FailedCode and FailedMessage get the same treatment', () => {
    expect(entryError('CreateRouteEntries', 'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE', `dup\n${'y'.repeat(400)}`).message).toMatch(/^aliyun CreateRouteEntries: VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE: dup y+…$/);
    expect(entryError('CreateRouteEntries', '<i>SECRET</i>', 'm')).toMatchObject({ providerCode: 'Unknown', message: 'aliyun CreateRouteEntries: Unknown: m' });
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
