// Two controllers on one PostgreSQL database, the console in Chromium connected to the second (a
// process of its own, API role only), every change made through the first one's API: the console
// must show each within 1 s, without a reload. The time is measured from just before the API call
// to the DOM mutation that shows the change (a MutationObserver in the page, wall clock on both
// sides), so it includes the API's own answer, the change feed (NOTIFY → LISTEN), the event stream
// and React's render.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserSupport, buildConsole, launchBrowser, screenshots, type Screenshots, type TestBrowser } from '../helpers/browser';
import { pgAvailable } from '../helpers/db';
import { LogDir, startControllerProc, type ControllerProc } from '../helpers/procs';
import { missing, withStack, type GatewayOut } from '../helpers/with-stack';
import { newSecretKey, parseSecretKey } from '../../lib/crypto';

const pg = await pgAvailable();
const browser = browserSupport();
const secretKey = newSecretKey();
const needs = { controller: { secretKey: parseSecretKey(secretKey) }, db: 'postgresql', agents: true, name: 'web-2c' } as const;
const reason = !browser.ok ? browser.reason : (missing(needs, 'two-controller console test') ?? (pg ? undefined : 'PostgreSQL is not available'));
if (reason) console.warn(`two-controller console test skipped: ${reason}`);

const BOUND_MS = 1000;

describe.runIf(!reason)('a console on controller 2 follows changes made through controller 1', () => {
  const s = withStack(needs);
  let logs: LogDir;
  let two: ControllerProc;
  let b: TestBrowser;
  let page: Page;
  let shots: Screenshots;
  const latencies: Record<string, number> = {};

  beforeAll(async () => {
    logs = new LogDir('web-2c');
    s.onClose(async () => {
      await b?.close();
      await two?.stop();
      logs.remove();
    });
    [two] = await Promise.all([
      startControllerProc({ name: 'ctl-2', logs, roles: ['api'], temporalAddress: s.temporal.address, temporalNamespace: s.temporal.namespace, databaseUrl: s.db.url, taskQueue: s.taskQueue, secretKey }),
      buildConsole(),
    ]);
    b = await launchBrowser();
    page = b.page;
    shots = screenshots(page, 'two-controllers');
  }, 180_000);

  afterEach(({ task }) => {
    if (task.result?.state !== 'fail') return;
    logs.keep = true;
    console.log(`page at ${page?.url()}; browser errors:\n${b?.errors.join('\n') || '(none)'}\n${logs.dump(40)}`);
  });

  afterAll(() => {
    console.log(`change through controller 1 → console on controller 2: ${Object.entries(latencies).map(([k, v]) => `${k} ${v} ms`).join(', ')}`);
  });

  /**
   * Runs `act` (a call to controller 1) and returns the milliseconds from just before it until the
   * first element matching `selector` exists in the console (with `attribute` = `value`, if given).
   */
  async function timeToDom(what: string, selector: string, act: () => Promise<void>, attribute?: { name: string; value: string }): Promise<number> {
    const seen = page.evaluate(
      ([sel, attr, timeoutMs]) =>
        new Promise<number>((resolve, reject) => {
          const found = () => {
            const el = document.querySelector(sel);
            return el && (!attr || el.getAttribute(attr.name) === attr.value);
          };
          const done = () => {
            observer.disconnect();
            clearTimeout(timer);
            resolve(performance.timeOrigin + performance.now());
          };
          const observer = new MutationObserver(() => found() && done());
          const timer = setTimeout(() => {
            observer.disconnect();
            reject(new Error(`not in the page within ${timeoutMs} ms: ${sel}`));
          }, timeoutMs);
          observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
          if (found()) done();
        }),
      [selector, attribute ?? null, 10_000] as const,
    );
    // The page runs evaluations in order: once this one answers, the observer above is in place.
    await page.evaluate(() => undefined);
    const t0 = Date.now();
    await act();
    const ms = Math.round((await seen) - t0);
    latencies[what] = ms;
    return ms;
  }

  it('shows a new gateway, a new link, and a link state change each within 1 s', async () => {
    await page.goto(`${two.url}/`);
    await page.locator('[data-testid="topology"][data-ready="true"]').waitFor({ timeout: 15_000 });

    let a: GatewayOut | undefined;
    expect(await timeToDom('new gateway', '[data-gateway-id]', async () => void (a = await s.gateway<GatewayOut>('two-a', ['10.71.0.0/24', '10.73.0.0/24'])))).toBeLessThanOrEqual(BOUND_MS);
    expect(await page.locator(`[data-gateway-id="${a!.id}"]`).count()).toBe(1);
    const g = await s.gateway('two-b', ['10.72.0.0/24']);
    await page.locator(`[data-gateway-id="${g.id}"]`).waitFor({ timeout: 2_000 });
    await Promise.all([s.agent(a!, '198.51.100.71'), s.agent(g, '198.51.100.72')]);

    let linkId = '';
    const created = await timeToDom('new link', '[data-link-id]', async () => {
      const r = await s.api<{ id: string }>('POST', '/api/links', { a: a!.id, b: g.id, cidrs: { a: ['10.71.0.0/24'] } });
      expect(r.status).toBe(202);
      linkId = r.body.id;
    });
    expect(created).toBeLessThanOrEqual(BOUND_MS);
    const edge = `[data-link-id="${linkId}"]`;
    await page.locator(`${edge}[data-state="up"]`).waitFor({ timeout: 30_000 });
    await shots.take('link-up-on-controller-2');

    // A state change made through controller 1's API: a CIDR change records `updating` at once.
    const updating = await timeToDom(
      'link state change',
      edge,
      async () => {
        const r = await s.api('PATCH', `/api/links/${linkId}`, { cidrs: { a: ['10.71.0.0/24', '10.73.0.0/24'] } });
        expect(r.status).toBe(202);
      },
      { name: 'data-state', value: 'updating' },
    );
    expect(updating).toBeLessThanOrEqual(BOUND_MS);
    await page.locator(`${edge}[data-state="up"]`).waitFor({ timeout: 30_000 });
    await shots.take('link-changed-on-controller-2');
  });
});
