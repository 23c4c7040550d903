// The tokens CLI against a controller's database: create prints the token once and it works on the
// API; list shows no secret; revoke stops it; bad usage exits 2 with the usage line.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createApi } from '../../api/app';
import { openDb } from '../../db';
import { newSecretKey, parseSecretKey } from '../../lib/crypto';
import { silentLogger } from '../../lib/log';
import { databaseUrlOf, runTokenCli } from '../../scripts/token';
import { fakeLinks, rawRequest } from '../helpers/api-harness';

const dir = mkdtempSync(path.join(tmpdir(), 'token-cli-'));
const env = { DATA_DIR: dir };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTokenCli(argv, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

async function withApi<T>(work: (port: number) => Promise<T>): Promise<T> {
  const db = await openDb(databaseUrlOf(env));
  const app = createApi({ db, log: silentLogger, links: fakeLinks(), secretKey: parseSecretKey(newSecretKey()), view: () => ({ now: new Date(), presenceTtlMs: 45_000, temporalNamespace: 'default' }), cloudEndpointAllow: [] });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await work((server.address() as AddressInfo).port);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await db.$disconnect();
  }
}

describe('npm run token', () => {
  it('creates, lists and revokes tokens in the database the controller uses', async () => {
    const created = await cli('create', '--role', 'admin', '--name', 'first admin', '--expires-days', '7');
    expect(created.code).toBe(0);
    const token = created.out.find((l) => l.startsWith('imt_'))!;
    expect(token).toMatch(/^imt_[A-Za-z0-9_-]{43}$/);
    const id = /token (tk[0-9a-f]+)/.exec(created.out[0]!)![1]!;

    const listed = await cli('list');
    expect(listed.out.join('\n')).toContain(id);
    expect(listed.out.join('\n')).toMatch(/active {2}admin {2}imt_.{8}… {2}"first admin" {2}by cli/);
    expect(listed.out.join('\n')).not.toContain(token);

    await withApi(async (port) => {
      expect((await rawRequest(port, { path: '/api/whoami', headers: { authorization: `Bearer ${token}` } })).json).toMatchObject({ role: 'admin', actor: 'first admin' });
      expect((await rawRequest(port, { path: '/api/gateways' })).status).toBe(401);
    });
    expect(await cli('revoke', id)).toMatchObject({ code: 0, out: [`Revoked ${id} ("first admin").`] });
    expect(await cli('revoke', id)).toMatchObject({ code: 0, out: [`${id} was already revoked.`] });
    expect(await cli('revoke', 'tknope')).toMatchObject({ code: 1, err: ['no API token tknope'] });
    await withApi(async (port) => {
      expect((await rawRequest(port, { path: '/api/whoami', headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    });
  });

  it.each([
    [['create', '--role', 'root', '--name', 'x'], /--role: expected admin, operator, viewer, auditor/],
    [['create', '--role', 'viewer'], /--name:/],
    [['create', '--role', 'viewer', '--name', 'x', '--expires-days', '0'], /--expires-days/],
    [['create', '--role', 'viewer', '--name', 'x', '--expires-days', 'soon'], /--expires-days/],
    [['create', '--role', 'viewer', '--name', 'x', '--colour', 'red'], /Unknown option/],
    [['revoke'], /give the token id/],
    [['list', 'extra'], /list takes no arguments/],
    [['frobnicate'], /unknown command/],
    [[], /no command/],
  ])('refuses %j with exit code 2 and the usage', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(message);
    expect(r.err.join('\n')).toContain('usage: npm run token --');
  });

  it('runs as npm run token', async () => {
    const { stdout } = await promisify(execFile)('npm', ['run', '--silent', 'token', '--', 'create', '--role', 'viewer', '--name', 'from npm'], { env: { ...process.env, ...env, DATABASE_URL: '' }, cwd: path.resolve(__dirname, '../..') });
    expect(stdout).toMatch(/Created viewer token tk[0-9a-f]+ \("from npm"\)[\s\S]*\nimt_/);
  }, 60_000);
});
