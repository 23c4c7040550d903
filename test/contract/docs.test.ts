// GET /api/openapi.json and the Swagger UI page at /api/docs: public (with API_TOKEN set or not),
// served from local files, no inline script; in real Chromium the page renders under the API's
// Content-Security-Policy, takes the bearer token and makes an authenticated call with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, rawRequest, type TestApi } from '../helpers/api-harness';
import { browserSupport, launchBrowser, type TestBrowser } from '../helpers/browser';

const TOKEN = 'docs-test-token-0123456789';
const apis: Record<'open' | 'token', TestApi | undefined> = { open: undefined, token: undefined };

beforeAll(async () => {
  apis.open = await startTestApi();
  apis.token = await startTestApi({ apiToken: TOKEN });
});
afterAll(async () => {
  await apis.open?.close();
  await apis.token?.close();
});

describe.each(['open', 'token'] as const)('the docs of an API %s', (which) => {
  const port = () => apis[which]!.port;

  it('serves the OpenAPI document without a token', async () => {
    const r = await rawRequest(port(), { path: '/api/openapi.json' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const doc = JSON.parse(r.text) as { openapi: string; paths: Record<string, unknown>; components: { securitySchemes: Record<string, unknown> } };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/api/links/{id}');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('serves the Swagger UI page from local files, its scripts all files of its own', async () => {
    const page = await rawRequest(port(), { path: '/api/docs' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/api\/docs\/[\w.-]+\.js"/);
      expect(body!.trim()).toBe('');
    }
    const files = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    for (const file of files) {
      expect(file.startsWith('/api/docs/'), `${file} is not a local file`).toBe(true);
      const asset = await rawRequest(port(), { path: file });
      expect(asset.status, file).toBe(200);
      expect(asset.text.length, file).toBeGreaterThan(0);
    }
    const init = await rawRequest(port(), { path: '/api/docs/initializer.js' });
    expect(init.headers['content-type']).toMatch(/^application\/javascript/);
    expect(init.text).toContain("url: '/api/openapi.json'");
  });

  it('answers a file the page does not have with a 404 in the error shape, not a file from elsewhere', async () => {
    for (const path of ['/api/docs/index.html', '/api/docs/..%2Fpackage.json', '/api/docs/swagger-ui-bundle.js.map']) {
      const r = await rawRequest(port(), { path });
      expect(r.status, path).toBe(404);
      expect(r.json.error.code).toBe('not_found');
    }
  });
});

it('the docs being public opens nothing else: the API still wants its token', async () => {
  expect((await rawRequest(apis.token!.port, { path: '/api/links' })).status).toBe(401);
  expect((await rawRequest(apis.token!.port, { path: '/api/links', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
});

const support = browserSupport();
describe.skipIf(!support.ok)(`Swagger UI in Chromium${support.ok ? '' : ` (skipped: ${support.reason})`}`, () => {
  let browser: TestBrowser | undefined;
  afterAll(async () => browser?.close());

  it('renders under the CSP, takes the bearer token and calls the API with it', async () => {
    browser = await launchBrowser();
    const { page } = browser;
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    const calls: Array<{ url: string; auth: string | undefined; status: number }> = [];
    page.on('response', (res) => {
      if (res.url().includes('/api/gateways')) calls.push({ url: res.url(), auth: res.request().headers().authorization, status: res.status() });
    });
    await page.goto(`${apis.token!.url}/api/docs`);
    await page.getByRole('heading', { name: /ipsec-mesh API/ }).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: /Authorize/ }).first().click();
    await page.locator('.auth-container input').first().fill(TOKEN);
    await page.getByRole('button', { name: 'Apply credentials' }).click();
    await page.locator('.auth-btn-wrapper').getByRole('button', { name: 'Close' }).click();
    const op = page.locator('#operations-gateways-get_api_gateways');
    await op.locator('.opblock-summary').click();
    await op.getByRole('button', { name: 'Try it out' }).click();
    await op.getByRole('button', { name: 'Execute' }).click();
    await op.locator('.live-responses-table .response-col_status').first().waitFor({ timeout: 10_000 });
    expect(calls).toContainEqual({ url: `${apis.token!.url}/api/gateways`, auth: `Bearer ${TOKEN}`, status: 200 });
    expect(violations).toEqual([]);
    expect(browser.errors).toEqual([]);
  });
});
