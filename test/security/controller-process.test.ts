// The controller as an operator runs it (`node controller/main.ts`, configuration in the
// environment): the API is never open to the network by accident (findings 3), agents and the API
// have listeners of their own, TLS certificates are served and re-read on SIGHUP (finding 4), the
// data directory is private and task tokens stay out of the logs (finding 8).
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { missing, withStack } from '../helpers/with-stack';
import { createSqliteTestDb } from '../helpers/db';
import { LogDir, dumpLogsOnFailure, portOutsideEphemeralRange, startControllerProc, waitFor } from '../helpers/procs';
import { makeTestPki, type TestPki } from '../helpers/tls';
import { newSecretKey } from '../../lib/crypto';
import { TEST_PAYLOAD_KEY_HEX } from '../helpers/controller';

const ROOT = path.resolve(__dirname, '..', '..');
// Controllers here are processes of their own (and one runs its own dev server); the rest share the run's.
const needs = { temporal: true, name: 'ctl-sec' } as const;
const reason = missing(needs, 'controller process tests');

/** Runs main.ts with `env` until it exits; for configurations it must refuse. */
function runToExit(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'controller', 'main.ts')], { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`controller did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** GET over https trusting only `ca`; resolves with the status, rejects on a TLS failure. */
function httpsGet(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

/** Tries a WebSocket upgrade to /agent on a plain HTTP port; the status line, or 'closed'. */
function tryUpgrade(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/agent', headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') } });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(String(res.statusCode));
    });
    req.on('response', (res) => {
      res.resume();
      resolve(String(res.statusCode));
    });
    req.on('error', () => resolve('closed'));
    req.end();
  });
}

describe.skipIf(reason)('the controller process', () => {
  const stack = withStack(needs);
  let logs: LogDir;
  let pki: TestPki;

  beforeAll(async () => {
    logs = new LogDir('ctl-sec');
    pki = await makeTestPki();
    stack.onClose(async () => {
      await pki.cleanup();
      logs.remove();
    });
  });

  it('refuses to open the API to the network without a token, and says why', async () => {
    const r = await runToExit({ HOST: '0.0.0.0', DATA_DIR: path.join(logs.dir, 'refused'), TEMPORAL_ADDRESS: stack.temporal.address });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/API_TOKEN: required when the API listens on 0\.0\.0\.0/);
    // Nothing was created or started meanwhile.
    expect(() => statSync(path.join(logs.dir, 'refused'))).toThrow();
  });

  it('serves agents and the API on separate listeners, the API on loopback by default', async ({ onTestFailed }) => {
    onTestFailed(dumpLogsOnFailure(logs));
    const db = await createSqliteTestDb();
    await db.db.$disconnect();
    const ctl = await startControllerProc({ name: 'split', logs, temporalAddress: stack.temporal.address, temporalNamespace: stack.temporal.namespace, databaseUrl: db.url, taskQueue: `split-${randomBytes(3).toString('hex')}`, secretKey: newSecretKey() });
    try {
      expect(ctl.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
      expect((await ctl.api('GET', '/api/health')).status).toBe(200);
      // No agent endpoint on the API's port, no API on the agents' port.
      expect(await tryUpgrade(ctl.port!)).not.toBe('101');
      const onAgentPort = await fetch(`${ctl.agentUrl}/api/gateways`);
      expect(onAgentPort.status).toBe(404);
      // The agents' port does speak WebSocket (and wants credentials).
      expect(await tryUpgrade(ctl.agentPort!)).toBe('401');
    } finally {
      await ctl.stop();
      await db.cleanup();
    }
  });

  it('keeps its data directory private (0700, files 0600) and task tokens out of its logs', async ({ onTestFailed }) => {
    onTestFailed(dumpLogsOnFailure(logs));
    // Embedded defaults: its own SQLite database and Temporal dev server in DATA_DIR.
    const [devPort, uiPort] = [await portOutsideEphemeralRange(), await portOutsideEphemeralRange()];
    const taskQueue = `embedded-${randomBytes(3).toString('hex')}`;
    const ctl = await startControllerProc({
      name: 'embedded',
      logs,
      temporalAddress: '',
      databaseUrl: '',
      taskQueue,
      secretKey: newSecretKey(),
      // Generated keys too: SECRET_KEY and TEMPORAL_PAYLOAD_KEY unset.
      env: { TEMPORAL_ADDRESS: '', DATABASE_URL: '', SECRET_KEY: '', TEMPORAL_PAYLOAD_KEY: '', TEMPORAL_DEV_PORT: String(devPort), TEMPORAL_DEV_UI_PORT: String(uiPort) },
      readyTimeoutMs: 90_000,
    });
    const dataDir = path.join(logs.dir, 'embedded-data');
    try {
      const mode = (p: string) => statSync(p).mode & 0o777;
      expect(mode(dataDir)).toBe(0o700);
      const files = readdirSync(dataDir);
      expect(files).toEqual(expect.arrayContaining(['controller.db', 'temporal.db', 'secret.key', 'payload.key']));
      for (const f of files) {
        // SQLite journals come and go while we look; each one that is there is checked.
        let fileMode: number;
        try {
          fileMode = mode(path.join(dataDir, f));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw err;
        }
        expect({ file: f, mode: fileMode.toString(8) }).toEqual({ file: f, mode: '600' });
      }

      // An activity that keeps failing (discovery against an endpoint that answers 500), and a
      // workflow task that cannot decode its input: both are logged, without their task tokens.
      const failing = http.createServer((_req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"Code":"InternalError","Message":"boom","RequestId":"x"}'));
      await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
      const endpoint = `http://127.0.0.1:${(failing.address() as net.AddressInfo).port}`;
      try {
        const account = await ctl.api<{ id: string }>('POST', '/api/cloud-accounts', { name: 'failing', provider: 'aliyun', credentials: { accessKeyId: 'LTAIfailing', accessKeySecret: 'failing-secret' }, endpoints: { vpc: endpoint, ecs: endpoint } });
        expect(account.status).toBe(201);
        expect((await ctl.api('POST', '/api/gateways', { name: 'vpc-failing', provider: 'aliyun', region: 'cn-hangzhou', publicIp: '203.0.113.77', account: account.body.id })).status).toBe(201);
        const connection = await Connection.connect({ address: `127.0.0.1:${devPort}` });
        try {
          await new Client({ connection }).workflow.start('linkWorkflow', { taskQueue, workflowId: `forged-${randomBytes(3).toString('hex')}`, args: [{ linkId: 'lnnothing' }] });
        } finally {
          await connection.close();
        }
        await waitFor('failures in the log', async () => {
          const text = readFileSync(ctl.logFile, 'utf8');
          return text.includes('"Activity failed"') && text.includes('PayloadDecodeError') ? true : undefined;
        }, 60_000, 200);
      } finally {
        failing.close();
      }
      const text = readFileSync(ctl.logFile, 'utf8');
      expect(text).not.toMatch(/taskToken/i);
      expect(text).not.toMatch(/"task":/);
      expect(text).not.toContain('failing-secret');
    } finally {
      await ctl.stop();
    }
  }, 180_000);

  it('serves HTTPS and WSS with TLS_CERT/TLS_KEY and re-reads them on SIGHUP', async ({ onTestFailed }) => {
    onTestFailed(dumpLogsOnFailure(logs));
    const db = await createSqliteTestDb();
    await db.db.$disconnect();
    const certFile = path.join(logs.dir, 'tls.pem');
    const keyFile = path.join(logs.dir, 'tls.key');
    await writeFile(certFile, pki.ca.server.cert);
    await writeFile(keyFile, pki.ca.server.key, { mode: 0o600 });
    const [port, agentPort] = [await portOutsideEphemeralRange(), await portOutsideEphemeralRange()];
    const logFile = logs.file('tls');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'controller', 'main.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        PORT: String(port),
        AGENT_PORT: String(agentPort),
        TLS_CERT: certFile,
        TLS_KEY: keyFile,
        DATA_DIR: path.join(logs.dir, 'tls-data'),
        DATABASE_URL: db.url,
        TEMPORAL_ADDRESS: stack.temporal.address,
        TEMPORAL_NAMESPACE: stack.temporal.namespace,
        TEMPORAL_TASK_QUEUE: `tls-${randomBytes(3).toString('hex')}`,
        TEMPORAL_PAYLOAD_KEY: TEST_PAYLOAD_KEY_HEX,
        SECRET_KEY: newSecretKey(),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor('the controller to start', async () => (out.includes('Press Ctrl-C') ? true : undefined), 60_000, 100);
      expect(out).toContain(`REST API:        https://127.0.0.1:${port}/api`);
      expect(out).toContain(`agent endpoint:  wss://127.0.0.1:${agentPort}/agent`);
      expect(await httpsGet(`https://127.0.0.1:${port}/api/health`, pki.ca.cert)).toBe(200);
      // The agents' listener is TLS too (it answers the upgrade-less request with 404).
      expect(await httpsGet(`https://127.0.0.1:${agentPort}/`, pki.ca.cert)).toBe(404);
      await expect(httpsGet(`https://127.0.0.1:${port}/api/health`, pki.wrongCa.cert)).rejects.toThrow();
      // A renewed certificate (here: from another CA) is picked up on SIGHUP, without a restart.
      await writeFile(certFile, pki.wrongCa.server.cert);
      await writeFile(keyFile, pki.wrongCa.server.key);
      child.kill('SIGHUP');
      await waitFor('the reload', async () => (out.includes('TLS certificate and key re-read') ? true : undefined), 10_000, 50);
      expect(await httpsGet(`https://127.0.0.1:${port}/api/health`, pki.wrongCa.cert)).toBe(200);
      expect(await httpsGet(`https://127.0.0.1:${agentPort}/`, pki.wrongCa.cert)).toBe(404);
      await expect(httpsGet(`https://127.0.0.1:${port}/api/health`, pki.ca.cert)).rejects.toThrow();
      expect(child.exitCode).toBeNull();
    } finally {
      await writeFile(logFile, out);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await db.cleanup();
    }
  }, 120_000);
});
