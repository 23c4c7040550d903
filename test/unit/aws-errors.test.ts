// The AWS provider's error mapping on errors the real SDK builds: a tiny local HTTP server answers
// with EC2's documented error XML (or breaks the connection), the real EC2 client parses it, and the
// provider turns it into a CloudError. This is how the throttling path is proven: moto never throttles.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateRouteCommand, EC2ServiceException } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAwsProvider, createEc2Client, toCloudError } from '../../cloud/aws';
import { CloudError, type CloudErrorKind, type CloudTarget } from '../../cloud/types';
import { freePort } from '../../controller/temporal-dev';

type Answer = { status: number; body: string; contentType?: string } | 'hangup' | 'silence';

const REQUEST_ID = 'ea966190-f9aa-478e-9ede-example';

/** EC2's error response, as in the "Error codes for the Amazon EC2 API" reference. */
function ec2ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${REQUEST_ID}</RequestID></Response>`;
}

interface Seen {
  params: URLSearchParams;
  headers: IncomingMessage['headers'];
}

let server: Server;
let endpoint: string;
let answer: Answer = { status: 200, body: '' };
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ params: new URLSearchParams(Buffer.concat(chunks).toString()), headers: req.headers });
      if (answer === 'hangup') return req.socket.destroy();
      if (answer === 'silence') return;
      // EC2 names the request in a header too; the SDK reads it from there into $metadata.requestId.
      res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/xml;charset=UTF-8', 'x-amzn-requestid': REQUEST_ID });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

afterEach(() => {
  seen.length = 0;
  answer = { status: 200, body: '' };
});

const unitKeys = { accessKeyId: 'AKIDUNIT', accessKeySecret: 'unit-secret' };
const target = (ep = endpoint, credentials: CloudTarget['credentials'] | null = unitKeys): CloudTarget => ({
  provider: 'aws',
  region: 'eu-west-1',
  ...(credentials ? { credentials } : {}),
  endpoints: { ec2: ep },
});
const route = { routeTableId: 'rtb-0123456789abcdef0', destinationCidr: '192.168.10.0/24', instanceId: 'i-0123456789abcdef0' };

async function failure(p: Promise<unknown>): Promise<CloudError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CloudError);
  return err as CloudError;
}

describe('EC2 error XML → CloudError (one HTTP request each: the SDK does not retry)', () => {
  it.each<[string, number, CloudErrorKind]>([
    ['RequestLimitExceeded', 503, 'throttled'],
    ['Throttling', 400, 'throttled'],
    ['ThrottlingException', 400, 'throttled'],
    ['InternalError', 500, 'unavailable'],
    ['Unavailable', 503, 'unavailable'],
    ['AuthFailure', 401, 'auth'],
    ['UnauthorizedOperation', 403, 'auth'],
    ['Client.UnauthorizedOperation', 403, 'auth'],
    ['InvalidClientTokenId', 401, 'auth'],
    ['SignatureDoesNotMatch', 403, 'auth'],
    ['RouteAlreadyExists', 400, 'conflict'],
    ['RouteLimitExceeded', 400, 'quota'],
    ['InvalidRouteTableID.NotFound', 400, 'not_found'],
    ['InvalidRouteTableId.NotFound', 400, 'not_found'],
    ['InvalidInstanceID.NotFound', 400, 'not_found'],
    ['InvalidRouteTableId.Malformed', 400, 'invalid'],
    ['InvalidParameterValue', 400, 'invalid'],
    ['IncorrectInstanceState', 400, 'busy'],
    ['SomethingNew', 400, 'invalid'],
    ['SomethingNewOnTheServer', 500, 'unavailable'],
  ])('%s (HTTP %i) → %s', async (code, status, kind) => {
    answer = { status, body: ec2ErrorXml(code, `recorded message for ${code}`) };
    const err = await failure(createAwsProvider(target()).createRoute(route, 'token-1'));
    expect(err.kind).toBe(kind);
    expect(err.providerCode).toBe(code);
    expect(err.message).toBe(`EC2 CreateRoute: ${code}: recorded message for ${code} (request ${REQUEST_ID})`);
    expect(err.retryable).toBe(kind === 'throttled' || kind === 'unavailable' || kind === 'busy');
    expect(seen).toHaveLength(1);
  });

  it('parses RequestLimitExceeded into a real EC2ServiceException first', async () => {
    answer = { status: 503, body: ec2ErrorXml('RequestLimitExceeded', 'Request limit exceeded.') };
    const client = createEc2Client(target());
    const raw = await client.send(new CreateRouteCommand({ RouteTableId: route.routeTableId, DestinationCidrBlock: route.destinationCidr, InstanceId: route.instanceId })).then(
      () => undefined,
      (e: unknown) => e,
    );
    client.destroy();
    expect(raw).toBeInstanceOf(EC2ServiceException);
    const sdkErr = raw as EC2ServiceException;
    expect(sdkErr.name).toBe('RequestLimitExceeded');
    expect(sdkErr.$metadata).toMatchObject({ httpStatusCode: 503, attempts: 1 });
    expect(toCloudError(raw, 'CreateRoute')).toMatchObject({ kind: 'throttled', providerCode: 'RequestLimitExceeded' });
    expect(seen).toHaveLength(1);
  });

  it('a non-XML 502 from a proxy is unavailable, described by its status alone', async () => {
    answer = { status: 502, body: '<html><title>502 Bad Gateway</title></html>', contentType: 'text/html' };
    const err = await failure(createAwsProvider(target()).getRoute(route));
    expect(err).toMatchObject({ kind: 'unavailable', providerCode: 'HTTP502' });
    expect(err.message).toBe(`EC2 DescribeRouteTables: unexpected reply: HTTP 502 (no EC2 error in the body) (request ${REQUEST_ID})`);
    expect(err.retryable).toBe(true);
  });

  it('a non-XML 403 from a proxy is auth', async () => {
    answer = { status: 403, body: '<html><title>Forbidden</title></html>', contentType: 'text/html' };
    expect(await failure(createAwsProvider(target()).getRoute(route))).toMatchObject({ kind: 'auth', providerCode: 'HTTP403' });
  });
});

describe('only the code and message of a reply are kept (issue 9 finding 5)', () => {
  it('a Code that is free text means the reply is not EC2\'s: its status only', async () => {
    answer = { status: 400, body: ec2ErrorXml('<b>Not a code</b> at all', 'page text') };
    const err = await failure(createAwsProvider(target()).getRoute(route));
    expect(err).toMatchObject({ kind: 'invalid', providerCode: 'HTTP400' });
    expect(err.message).toBe(`EC2 DescribeRouteTables: unexpected reply: HTTP 400 (no EC2 error in the body) (request ${REQUEST_ID})`);
  });

  it('a Message is cut at 300 characters and loses its control characters', async () => {
    answer = { status: 400, body: ec2ErrorXml('InvalidParameterValue', `bad\u001b[31m value\u0007 ${'x'.repeat(400)} TAIL`) };
    const err = await failure(createAwsProvider(target()).getRoute(route));
    expect(err.providerCode).toBe('InvalidParameterValue');
    expect(err.message).toMatch(/^EC2 DescribeRouteTables: InvalidParameterValue: bad\[31m value x+… \(request /);
    expect(err.message).not.toContain('TAIL');
    expect(err.message).not.toMatch(/\p{Cc}/u);
  });

  it('a request id header that is no request id is left out', async () => {
    answer = { status: 400, body: ec2ErrorXml('InvalidParameterValue', 'Value is invalid.') };
    const odd = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'text/xml', 'x-amzn-requestid': '<script>alert(1)</script>' });
        res.end(ec2ErrorXml('InvalidParameterValue', 'Value is invalid.'));
      });
    });
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
    try {
      const err = await failure(createAwsProvider(target(`http://127.0.0.1:${(odd.address() as AddressInfo).port}`)).getRoute(route));
      expect(err.message).toBe('EC2 DescribeRouteTables: InvalidParameterValue: Value is invalid.');
    } finally {
      odd.closeAllConnections();
      await new Promise((resolve) => odd.close(resolve));
    }
  });

  it('a 200 the SDK cannot parse is a retryable CloudError, not a raw parser error', async () => {
    answer = { status: 200, body: 'ami-id\nhostname\ninstance-id', contentType: 'text/plain' };
    const err = await failure(createAwsProvider(target()).getRoute(route));
    expect(err).toMatchObject({ kind: 'unavailable', providerCode: 'HTTP200' });
    expect(err.message).not.toContain('hostname');
  });
});

describe('network failures are unavailable', () => {
  it('connection refused', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const err = await failure(createAwsProvider(target(closed)).prepareInstance('i-0123456789abcdef0'));
    expect(err).toMatchObject({ kind: 'unavailable', providerCode: 'ECONNREFUSED' });
  });

  it('connection dropped mid-request', async () => {
    answer = 'hangup';
    const err = await failure(createAwsProvider(target()).deleteRoute(route));
    expect(err).toMatchObject({ kind: 'unavailable', providerCode: 'ECONNRESET' });
    expect(seen).toHaveLength(1);
  });

  it('no answer within the request timeout', async () => {
    answer = 'silence';
    const err = await failure(createAwsProvider(target(), { requestTimeoutMs: 300 }).allowPeer({ securityGroupId: 'sg-1', peerIp: '198.51.100.7', description: 'x' }));
    expect(err).toMatchObject({ kind: 'unavailable', providerCode: 'ETIMEDOUT' });
    expect(seen).toHaveLength(1);
  });
});

describe('idempotent outcomes', () => {
  it('DeleteRoute InvalidRoute.NotFound and a vanished table are "absent"', async () => {
    const aws = createAwsProvider(target());
    answer = { status: 400, body: ec2ErrorXml('InvalidRoute.NotFound', 'no route with destination-cidr-block 192.168.10.0/24') };
    expect(await aws.deleteRoute(route)).toBe('absent');
    answer = { status: 400, body: ec2ErrorXml('InvalidRouteTableID.NotFound', "The routeTable ID 'rtb-0123456789abcdef0' does not exist") };
    expect(await aws.deleteRoute(route)).toBe('absent');
  });

  it('Authorize InvalidPermission.Duplicate and Revoke InvalidPermission.NotFound are success', async () => {
    const aws = createAwsProvider(target());
    const rule = { securityGroupId: 'sg-0123456789abcdef0', peerIp: '198.51.100.7', description: 'ipsec-mesh link l-1' };
    answer = { status: 400, body: ec2ErrorXml('InvalidPermission.Duplicate', 'the specified rule "peer: 198.51.100.7/32, UDP, from port: 500, to port: 500, ALLOW" already exists') };
    await expect(aws.allowPeer(rule)).resolves.toBeUndefined();
    answer = { status: 400, body: ec2ErrorXml('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.') };
    await expect(aws.revokePeer(rule)).resolves.toBeUndefined();
    answer = { status: 400, body: ec2ErrorXml('InvalidGroup.NotFound', "The security group 'sg-0123456789abcdef0' does not exist") };
    await expect(aws.revokePeer(rule)).resolves.toBeUndefined();
    await expect(aws.allowPeer(rule)).rejects.toMatchObject({ kind: 'not_found', providerCode: 'InvalidGroup.NotFound' });
  });

  it('ReplaceRoute on a missing route is not_found', async () => {
    answer = { status: 400, body: ec2ErrorXml('InvalidParameterValue', "There is no route defined for '192.168.10.0/24' in the route table. Use CreateRoute instead.") };
    await expect(createAwsProvider(target()).replaceRoute(route)).rejects.toMatchObject({ kind: 'not_found' });
  });
});

describe('what goes on the wire', () => {
  it('CreateRoute: one request with InstanceId and no ClientToken (CreateRoute has none)', async () => {
    answer = { status: 200, body: '<CreateRouteResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><return>true</return></CreateRouteResponse>' };
    expect(await createAwsProvider(target()).createRoute(route, 'deterministic-token')).toBe('created');
    expect(seen).toHaveLength(1);
    const p = seen[0]!.params;
    expect(Object.fromEntries(p)).toMatchObject({ Action: 'CreateRoute', RouteTableId: route.routeTableId, DestinationCidrBlock: route.destinationCidr, InstanceId: route.instanceId });
    expect([...p.keys()].some((k) => k.toLowerCase().includes('token'))).toBe(false);
  });

  it('AuthorizeSecurityGroupIngress: UDP 500, UDP 4500 and ESP (-1 ports) from peer/32 in one request', async () => {
    answer = { status: 200, body: '<AuthorizeSecurityGroupIngressResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-2</requestId><return>true</return></AuthorizeSecurityGroupIngressResponse>' };
    await createAwsProvider(target()).allowPeer({ securityGroupId: 'sg-0123456789abcdef0', peerIp: '198.51.100.7', description: 'ipsec-mesh link l-1' });
    expect(seen).toHaveLength(1);
    const p = Object.fromEntries(seen[0]!.params);
    expect(p).toMatchObject({
      Action: 'AuthorizeSecurityGroupIngress',
      GroupId: 'sg-0123456789abcdef0',
      'IpPermissions.1.IpProtocol': 'udp',
      'IpPermissions.1.FromPort': '500',
      'IpPermissions.1.ToPort': '500',
      'IpPermissions.2.FromPort': '4500',
      'IpPermissions.3.IpProtocol': '50',
      'IpPermissions.3.FromPort': '-1',
      'IpPermissions.3.ToPort': '-1',
      'IpPermissions.1.IpRanges.1.CidrIp': '198.51.100.7/32',
      'IpPermissions.3.IpRanges.1.Description': 'ipsec-mesh link l-1',
    });
  });

  it('explicit keys sign the request and carry the session token', async () => {
    answer = { status: 400, body: ec2ErrorXml('InvalidRoute.NotFound', 'gone') };
    await createAwsProvider(target(endpoint, { accessKeyId: 'AKIDSIGNED', accessKeySecret: 'never-logged', securityToken: 'sts-token' })).deleteRoute(route);
    expect(String(seen[0]!.headers.authorization)).toContain('Credential=AKIDSIGNED/');
    expect(seen[0]!.headers['x-amz-security-token']).toBe('sts-token');
  });

  it('without keys and with nothing in the default chain, the call fails as auth before any request', async () => {
    const saved = { ...process.env };
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    // Keep the chain off the network (no instance metadata) and away from the machine's own files.
    Object.assign(process.env, { AWS_EC2_METADATA_DISABLED: 'true', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_CONFIG_FILE: '/nonexistent/config' });
    try {
      const err = await failure(createAwsProvider(target(endpoint, null)).getRoute(route));
      expect(err.kind).toBe('auth');
      expect(seen).toHaveLength(0);
    } finally {
      for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
