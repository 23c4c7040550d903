// Finding 4 (Temporal side): what the controller stores in Temporal is encrypted with a payload key
// of its own, so a person with Temporal UI or database access sees no gateway names, addresses or
// networks, and someone who can only reach Temporal cannot make a worker act on input they wrote
// (e.g. start a link workflow that would push a PSK). And the controller can reach Temporal over mTLS.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { Client, Connection } from '@temporalio/client';
import { startTestController, type TestController } from '../helpers/controller';
import { createSqliteTestDb } from '../helpers/db';
import { expectSdkLogs } from '../helpers/temporal';
import { missing, withStack } from '../helpers/with-stack';
import type { LinkBody, LinkWithEventsBody, RegisteredGatewayBody } from '../helpers/api-harness';
import { linkWorkflowId } from '../../contracts/link-workflow';

const run = promisify(execFile);
const needs = { controller: true, agents: true, name: 'tsec' } as const;

describe.skipIf(missing(needs, 'Temporal security tests'))('Temporal sees only ciphertext, and only the controller can feed its workers', () => {
  const s = withStack(needs);

  async function linkedPair(tag: string, n: number): Promise<{ link: LinkBody; a: RegisteredGatewayBody; b: RegisteredGatewayBody }> {
    const a = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: `${tag}-west`, provider: 'onprem', cidrs: [`10.${n}.0.0/24`], publicIp: `198.51.100.${n}` })).body;
    const b = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: `${tag}-east`, provider: 'onprem', cidrs: [`10.${n + 1}.0.0/24`], publicIp: `198.51.100.${n + 1}` })).body;
    await s.agent(a, `198.51.100.${n}`);
    await s.agent(b, `198.51.100.${n + 1}`);
    const link = (await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id })).body;
    await expect.poll(async () => (await s.api<LinkWithEventsBody>('GET', `/api/links/${link.id}`)).body.state, { timeout: 20_000 }).toBe('up');
    return { link, a, b };
  }

  it('a link workflow history holds no gateway name, address or network in the clear', async () => {
    const { link } = await linkedPair('tsecret', 61);
    // What anyone with access to Temporal (its UI, tctl, its database) reads: the raw history.
    const raw = JSON.stringify(await s.ctl.client.workflow.getHandle(link.workflowId).fetchHistory());
    for (const visible of ['tsecret-west', 'tsecret-east', '198.51.100.61', '198.51.100.62', '10.61.0.0/24', '10.62.0.0/24']) {
      expect(raw).not.toContain(visible);
      expect(raw).not.toContain(Buffer.from(visible).toString('base64'));
    }
    expect(raw).toContain(Buffer.from('binary/encrypted').toString('base64'));
  });

  it('input written by someone who can reach Temporal but lacks the payload key is refused by the workers', async () => {
    const { link, a } = await linkedPair('tforge', 63);
    const calls = () => s.net.drivers.get('198.51.100.63')!.calls.length;
    const before = calls();
    // Someone with network access to Temporal (no payload key) starts a link workflow for an
    // existing link on the controller's task queue, hoping a worker pushes its config again.
    // The worker logs each refusal at ERROR; expected here, so kept for the assertion below.
    const refusals = expectSdkLogs(/PayloadDecodeError/);
    const connection = await Connection.connect({ address: s.temporal.address });
    try {
      const outsider = new Client({ connection, namespace: s.temporal.namespace });
      const forged = await outsider.workflow.start('linkWorkflow', { taskQueue: s.taskQueue, workflowId: `forged-${randomBytes(3).toString('hex')}`, args: [{ linkId: link.id }] });
      // The worker cannot decode that input: the workflow task fails, again and again, and
      // nothing reaches an agent.
      await expect
        .poll(async () => {
          const h = await forged.fetchHistory();
          return (h.events ?? []).some((e) => e.workflowTaskFailedEventAttributes);
        }, { timeout: 20_000 })
        .toBe(true);
      const h = await forged.fetchHistory();
      const failed = (h.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes);
      expect(failed.length).toBeGreaterThan(0);
      // The workflow never got as far as scheduling an activity.
      expect((h.events ?? []).some((e) => e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes)).toBe(false);
      await new Promise((r) => setTimeout(r, 1000));
      expect(calls()).toBe(before);
      expect(refusals.join('\n')).toMatch(/refusing a payload that is not encrypted with the controller's payload key/);
      await forged.terminate('test over');
    } finally {
      await connection.close();
    }
    // The real link workflow is unaffected.
    expect((await s.api<LinkWithEventsBody>('GET', `/api/links/${link.id}`)).body.state).toBe('up');
    expect(a.id).toBeTruthy();
    expect(linkWorkflowId(link.id)).toBe(link.workflowId);
  });

  it('reaches Temporal over mutual TLS, and a controller without a client certificate is refused', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'temporal-mtls-'));
    const f = (name: string) => path.join(dir, name);
    const openssl = (args: string[]) => run('/usr/bin/openssl', args);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await openssl(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=temporal test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    for (const [name, ext] of [['server', 'subjectAltName=DNS:temporal.test\nextendedKeyUsage=serverAuth\n'], ['client', 'extendedKeyUsage=clientAuth\n']] as const) {
      await openssl(['req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`]);
      await writeFile(f(`${name}.ext`), ext);
      await openssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '1', '-extfile', f(`${name}.ext`)]);
    }
    // A TLS terminator demanding a client certificate from our CA, in front of the dev server (as
    // a Temporal cluster with mTLS does); gRPC needs ALPN h2.
    const [host, port] = s.temporal.address.split(':') as [string, string];
    const { readFile } = await import('node:fs/promises');
    const terminator = tls.createServer(
      { key: await readFile(f('server.key')), cert: await readFile(f('server.pem')), ca: await readFile(f('ca.pem')), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] },
      (clientSocket) => {
        const upstream = net.connect(Number(port), host);
        clientSocket.pipe(upstream).pipe(clientSocket);
        const end = () => { clientSocket.destroy(); upstream.destroy(); };
        clientSocket.on('error', end);
        upstream.on('error', end);
      },
    );
    let handshakes = 0;
    terminator.on('secureConnection', () => handshakes++);
    await new Promise<void>((r) => terminator.listen(0, '127.0.0.1', r));
    const address = `127.0.0.1:${(terminator.address() as net.AddressInfo).port}`;
    const db = await createSqliteTestDb();
    await db.db.$disconnect();
    let viaTls: TestController | undefined;
    try {
      const tq = `mtls-${randomBytes(3).toString('hex')}`;
      viaTls = await startTestController({ temporal: s.temporal, databaseUrl: db.url, taskQueue: tq, temporalAddress: address, temporalTls: { certFile: f('client.pem'), keyFile: f('client.key'), caFile: f('ca.pem'), serverName: 'temporal.test' } });
      expect(handshakes).toBeGreaterThan(0);
      // A workflow runs through it: discovery-free on-prem gateways, a link waiting for agents.
      const g1 = (await viaTls.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'm1', provider: 'onprem', cidrs: ['10.71.0.0/24'] })).body;
      const g2 = (await viaTls.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'm2', provider: 'onprem', cidrs: ['10.72.0.0/24'] })).body;
      const l = await viaTls.api<LinkBody>('POST', '/api/links', { a: g1.id, b: g2.id });
      expect(l.status).toBe(202);
      await expect.poll(async () => (await viaTls!.client.workflow.getHandle(l.body.workflowId).describe()).status.name).toBe('RUNNING');
      // Without a client certificate the handshake is refused and the controller does not start.
      await expect(
        startTestController({ temporal: s.temporal, databaseUrl: db.url, taskQueue: tq, temporalAddress: address, temporalTls: { caFile: f('ca.pem'), serverName: 'temporal.test' }, temporalConnectTimeoutMs: 2000 }),
      ).rejects.toThrow(/not reachable/);
    } finally {
      await viaTls?.close();
      await new Promise<void>((r) => terminator.close(() => r()));
      await db.cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
