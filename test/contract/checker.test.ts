// The response checker: a documented answer passes untouched; a body, status or media type the
// document does not allow becomes a 500 "contract violation" that names the problem, so the test
// that provoked it fails. Every test run has it on (test/setup/run.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApi } from '../../api/app';
import { CONTRACT_CHECK_ENV, contractCheck, contractCheckEnabled } from '../../api/openapi/contract-check';
import type { Operation } from '../../api/openapi/operation';
import { AppError, toHttp } from '../../lib/errors';
import { newSecretKey, parseSecretKey } from '../../lib/crypto';
import { silentLogger } from '../../lib/log';
import { fakeLinks, jsonRequest, rawRequest, startTestApi } from '../helpers/api-harness';
import { createSqliteTestDb } from '../helpers/db';

const Thing = z.strictObject({ id: z.string(), size: z.int(), at: z.iso.datetime() });
const operations: Operation[] = [
  { method: 'get', path: '/api/things/:id', tag: 't', summary: 's', responses: { 200: { description: 'd', json: Thing }, 404: { description: 'd', json: z.unknown() } } },
  { method: 'delete', path: '/api/things/:id', tag: 't', summary: 's', responses: { 204: { description: 'gone' } } },
  { method: 'get', path: '/api/page', tag: 't', summary: 's', public: true, responses: { 200: { description: 'd', media: { 'text/html': z.string() } } } },
  { method: 'get', path: '/api/stream', tag: 't', summary: 's', responses: { 200: { description: 'd', media: { 'text/event-stream': z.string() } } } },
];

let server: http.Server;
let port: number;
const stderr: string[] = [];

beforeAll(async () => {
  const app = express();
  app.use('/api', contractCheck(operations, silentLogger));
  app.get('/api/things/good', (_req, res) => res.json({ id: 'good', size: 1, at: new Date(0) }));
  app.get('/api/things/wrong-field', (_req, res) => res.json({ id: 'x', size: 1.5, at: new Date(0), extra: true }));
  app.get('/api/things/wrong-status', (_req, res) => res.status(202).json({ id: 'x', size: 1, at: new Date(0) }));
  app.get('/api/things/html', (_req, res) => res.type('html').send('<p>hello</p>'));
  app.delete('/api/things/:id', (req, res) => (req.params.id === 'json' ? res.status(204).json({}) : res.status(204).end()));
  app.get('/api/page', (req, res) => (req.query.as === 'text' ? res.type('text').send('plain') : res.type('html').send('<p>page</p>')));
  app.get('/api/stream', (req, res) => {
    res.writeHead(200, { 'content-type': req.query.as === 'json' ? 'application/x-ndjson' : 'text/event-stream' });
    res.write('data: 1\n\n');
    res.end();
  });
  app.get('/api/undocumented', (_req, res) => res.json({ ok: true }));
  app.use('/api', (_req, res) => {
    res.status(404).json(toHttp(new AppError('not_found', 'no such route')).body);
  });
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const get = (path: string, method = 'GET') => rawRequest(port, { method, path });

describe('the response checker', () => {
  it('is on in every test run, and parsed strictly', () => {
    expect(process.env[CONTRACT_CHECK_ENV]).toBe('1');
    expect(contractCheckEnabled({ [CONTRACT_CHECK_ENV]: '1' })).toBe(true);
    expect(contractCheckEnabled({ [CONTRACT_CHECK_ENV]: 'true' })).toBe(true);
    expect(contractCheckEnabled({ [CONTRACT_CHECK_ENV]: '0' })).toBe(false);
    expect(contractCheckEnabled({})).toBe(false);
    expect(() => contractCheckEnabled({ [CONTRACT_CHECK_ENV]: 'yes' })).toThrow(/API_CONTRACT_CHECK: expected true, false, 1 or 0/);
  });

  it('lets a documented answer through untouched (validated as it goes on the wire: dates as text)', async () => {
    const r = await get('/api/things/good');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ id: 'good', size: 1, at: '1970-01-01T00:00:00.000Z' });
    expect((await get('/api/things/x', 'DELETE')).status).toBe(204);
    expect((await get('/api/page')).text).toBe('<p>page</p>');
    expect((await get('/api/stream')).text).toBe('data: 1\n\n');
    expect((await get('/api/things/good', 'HEAD')).status).toBe(200);
    // An error answer of a path the document does not have, in the error shape.
    expect((await get('/api/nothing-here')).status).toBe(404);
  });

  it.each([
    ['/api/things/wrong-field', 'GET', /a body the document does not allow: size: Invalid input: expected int, received number; \(body\): Unrecognized key: "extra"/],
    ['/api/things/wrong-status', 'GET', /answered 202, which the document does not list for GET \/api\/things\/:id/],
    ['/api/things/html', 'GET', /answered 200 with text\/html; the document says application\/json/],
    ['/api/things/json', 'DELETE', /answered 204 with JSON; the document says no body/],
    ['/api/page?as=text', 'GET', /answered 200 with text\/plain; the document says text\/html/],
    ['/api/stream?as=json', 'GET', /answered 200 with application\/x-ndjson; the document says text\/event-stream/],
    ['/api/undocumented', 'GET', /GET \/api\/undocumented answered 200 but has no operation in the API document/],
  ])('answers %s (%s) that breaks the contract with a 500 naming the problem', async (path, method, problem) => {
    stderr.length = 0;
    const r = await get(path, method);
    expect(r.status).toBe(500);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.json.error.code).toBe('internal');
    expect(r.json.error.message).toMatch(/^contract violation: /);
    expect(r.json.error.message).toMatch(problem);
    expect(stderr.join('')).toContain('API contract violation');
  });
});

describe('createApi', () => {
  const layerNames = async (env: string | undefined): Promise<string[]> => {
    const testDb = await createSqliteTestDb();
    const before = process.env[CONTRACT_CHECK_ENV];
    if (env === undefined) delete process.env[CONTRACT_CHECK_ENV];
    else process.env[CONTRACT_CHECK_ENV] = env;
    try {
      const app = createApi({
        db: testDb.db,
        log: silentLogger,
        links: fakeLinks(),
        secretKey: parseSecretKey(newSecretKey()),
        view: () => ({ now: new Date(), presenceTtlMs: 45_000, temporalNamespace: 'default' }),
        cloudEndpointAllow: [],
      });
      return (app.router as unknown as { stack: Array<{ name: string }> }).stack.map((layer) => layer.name);
    } finally {
      if (before === undefined) delete process.env[CONTRACT_CHECK_ENV];
      else process.env[CONTRACT_CHECK_ENV] = before;
      await testDb.cleanup();
    }
  };

  it('installs the checker only when API_CONTRACT_CHECK is on (off, it costs nothing)', async () => {
    expect(await layerNames('1')).toContain('contractChecker');
    expect(await layerNames(undefined)).not.toContain('contractChecker');
    expect(await layerNames('0')).not.toContain('contractChecker');
  });
});

describe('the checker on the real API', () => {
  it('passes its answers, and turns one the document does not allow (a state no schema knows) into a 500', async () => {
    const api = await startTestApi();
    try {
      const created = await jsonRequest(api.port, 'POST', '/api/gateways', { name: 'site-a', provider: 'onprem', cidrs: ['10.1.0.0/16'] });
      expect(created.status).toBe(201);
      expect((await jsonRequest(api.port, 'GET', `/api/gateways/${created.json.id}`)).status).toBe(200);
      stderr.length = 0;
      await api.db.gateway.update({ where: { id: created.json.id }, data: { state: 'half-there' } });
      const r = await jsonRequest(api.port, 'GET', `/api/gateways/${created.json.id}`);
      expect(r.status).toBe(500);
      expect(r.json.error.message).toMatch(/^contract violation: GET \/api\/gateways\/gw\w+ answered 200 with a body the document does not allow: state: Invalid option/);
      expect(stderr.join('')).toContain('API contract violation');
      expect(api.logs.some((line) => line.level === 'error' && line.msg === 'API contract violation')).toBe(true);
    } finally {
      await api.close();
    }
  });
});
