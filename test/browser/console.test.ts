// The console end to end in real Chromium, as an operator uses it: register two on-prem gateways
// through the console, start their agents with the secrets it showed once, connect them by clicking
// one gateway and then the other on the map, watch the edge turn up without a reload, preview and
// apply a CIDR change on the link page, and delete the link. Real strongSwan in network namespaces
// when root (traffic checked through the tunnel), the fake IPsec network otherwise. Screenshots of
// every step land in .artifacts/screenshots/console/; axe checks the map, the dialog and the link page.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserSupport, buildConsole, expectAccessible, launchBrowser, screenshots, type Screenshots, type TestBrowser } from '../helpers/browser';
import { temporalCliAvailable } from '../helpers/temporal';
import { SITES, startConsoleSites, type ConsoleSites } from './sites';
import type { LinkWithEventsBody } from '../helpers/api-harness';

const browser = browserSupport();
const cli = temporalCliAvailable();
const reason = !browser.ok ? browser.reason : !cli.ok ? cli.reason : undefined;
if (reason) console.warn(`console browser test skipped: ${reason}`);

/** Long enough for a link workflow on a busy 2-core machine; the map must follow without a reload. */
const LINK_TIMEOUT = 45_000;
/** The map's link edges (one at a time here) and the link page's state. */
const EDGE = '[data-testid="topology"] [data-link-id]';
const PILL = '.link-state .state-pill';

describe.runIf(!reason)('the console in Chromium: register, connect by clicking, change CIDRs, delete', () => {
  let sites: ConsoleSites;
  let b: TestBrowser;
  let page: Page;
  let shots: Screenshots;

  beforeAll(async () => {
    await buildConsole();
    sites = await startConsoleSites('web1');
    b = await launchBrowser();
    page = b.page;
    shots = screenshots(page, 'console');
    console.log(`console test: tunnels by ${sites.mode}`);
  }, 240_000);

  afterEach(async ({ task }) => {
    if (task.result?.state !== 'fail' || !b) return;
    await shots.take('failed').catch(() => undefined);
    console.log(`page at ${page.url()}; browser errors:\n${b.errors.join('\n') || '(none)'}`);
  });

  afterAll(async () => {
    await b?.close();
    await sites?.close();
  });

  const api = <T>(method: string, path: string) => sites.controller.api<T>(method, path);
  const topology = () => page.locator('[data-testid="topology"][data-ready="true"]');
  const dialog = (name: string) => page.getByRole('dialog', { name });

  /** Registers an on-prem gateway in the console's form; returns what the secret dialog showed once. */
  async function register(name: string, cidrs: string[]): Promise<{ id: string; secret: string }> {
    await page.getByRole('button', { name: 'Register gateway' }).click();
    const form = dialog('Register gateway');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Networks (CIDRs)').fill(cidrs.join(', '));
    await shots.take(`register-${name}`);
    await form.getByRole('button', { name: 'Register gateway' }).click();
    const shown = dialog('Agent secret');
    const command = (await shown.getByLabel('Command to start the agent').textContent()) ?? '';
    const id = /GATEWAY_ID=(\S+)/.exec(command)?.[1];
    const secret = /GATEWAY_SECRET=(\S+)/.exec(command)?.[1];
    expect(id && secret, `the agent command shown: ${command}`).toBeTruthy();
    await shots.take(`secret-${name}`);
    await shown.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => shown.count()).toBe(0);
    return { id: id!, secret: secret! };
  }

  /** Clicks the middle of a link's line on the map, as a person would (its bounding box's centre may lie off an arc). */
  async function clickLine(linkId: string): Promise<void> {
    const at = await page.locator(`[data-link-id="${linkId}"] path`).first().evaluate((el) => {
      const path = el as SVGPathElement;
      const p = path.getPointAtLength(path.getTotalLength() / 2);
      const m = path.getScreenCTM()!;
      return { x: p.x * m.a + p.y * m.c + m.e, y: p.x * m.b + p.y * m.d + m.f };
    });
    await page.mouse.click(at.x, at.y);
  }

  /**
   * Starts recording each value the first element matching `selector` shows (its text, or
   * `attribute`), from a MutationObserver in the page, so no state in between is missed; see `seen`.
   */
  async function record(selector: string, attribute?: string): Promise<void> {
    await page.evaluate(
      ([sel, attr]) => {
        const values: string[] = [];
        const note = () => {
          const el = document.querySelector(sel);
          const value = (attr ? el?.getAttribute(attr) : el?.textContent) ?? '';
          if (value && values[values.length - 1] !== value) values.push(value);
        };
        note();
        new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
        const w = window as unknown as { recorded?: Record<string, string[]> };
        w.recorded = { ...w.recorded, [sel]: values };
      },
      [selector, attribute] as const,
    );
  }
  const seen = (selector: string) => page.evaluate((sel) => (window as unknown as { recorded: Record<string, string[]> }).recorded[sel] ?? [], selector);

  it('registers two gateways, connects them on the map, changes the CIDRs with a preview and deletes the link', async () => {
    const [dc, branch] = SITES as [(typeof SITES)[0], (typeof SITES)[0]];
    await page.goto(`${sites.controller.url}/`);
    await topology().waitFor({ timeout: 15_000 });
    await expect.poll(() => page.getByText('No gateways yet').count()).toBeGreaterThan(0);
    await shots.take('first-run');
    // Set once: still there at the end proves that nothing below reloaded the page.
    await page.evaluate(() => Object.assign(window, { noReloadMarker: true }));

    // Register both gateways through the console; each secret is read from the page that showed it.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Gateways' }).click();
    const ids = new Map<string, string>();
    for (const site of [dc, branch]) {
      const g = await register(site.name, [...site.cidrs]);
      ids.set(site.name, g.id);
      await sites.startAgent(site.name, g.id, g.secret);
    }
    for (const id of ids.values()) await expect.poll(() => page.locator(`[data-gateway-row="${id}"]`).textContent(), { timeout: 10_000 }).toContain('online');
    await shots.take('gateways-online');

    // Connect by clicking one gateway and then the other on the map; dc carries its first subnet only.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Map' }).click();
    await topology().waitFor();
    await expectAccessible(page, 'the map with two gateways');
    await page.locator(`[data-gateway-id="${ids.get(dc.name)}"]`).click();
    await page.locator(`[data-gateway-id="${ids.get(branch.name)}"]`).click();
    const connect = dialog('Connect networks');
    await connect.waitFor();
    await connect.getByLabel(dc.cidrs[1]!).uncheck();
    await shots.take('connect-dialog');
    await expectAccessible(page, 'the Connect networks dialog', '[role="dialog"]');
    await record(EDGE, 'data-state');
    await connect.getByRole('button', { name: 'Connect', exact: true }).click();
    await expect.poll(() => connect.count()).toBe(0);

    const edge = page.locator(EDGE);
    await edge.first().waitFor({ timeout: 5_000 });
    const linkId = (await edge.first().getAttribute('data-link-id'))!;
    // It appears at once as provisioning and turns up by itself.
    await expect.poll(() => seen(EDGE), { timeout: LINK_TIMEOUT, interval: 100 }).toEqual(['provisioning', 'up']);
    const created = (await api<LinkWithEventsBody>('GET', `/api/links/${linkId}`)).body;
    expect(created).toMatchObject({ state: 'up', a: { cidrs: [dc.cidrs[0]] }, b: { cidrs: [branch.cidrs[0]] } });
    if (sites.reaches) {
      expect(await sites.reaches(branch.name, dc.name, 0, 5_000)).toBe(true);
      expect(await sites.reaches(branch.name, dc.name, 1, 1_500)).toBe(false);
    }
    await shots.take('map-link-up');

    // The link page: preview a CIDR change (dc adds its second subnet), apply it, back to up.
    await clickLine(linkId);
    await page.waitForURL(`**/links/${linkId}`);
    const state = page.locator(PILL);
    await expect.poll(() => state.textContent()).toBe('up');
    await expectAccessible(page, 'the link page');
    await page.getByRole('button', { name: 'Change CIDRs' }).click();
    await page.getByLabel(`Networks ${dc.name} carries`).fill(dc.cidrs.join(', '));
    await page.getByRole('button', { name: 'Preview change' }).click();
    const preview = page.locator('.preview');
    await preview.waitFor();
    await expect.poll(() => preview.locator('.add').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining(dc.cidrs[1]!)]));
    await page.locator('.change').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await shots.take('cidr-preview');
    await expectAccessible(page, 'the link page with the change preview');
    await record(PILL);
    await page.getByRole('button', { name: 'Apply' }).click();
    // The page shows the change go through updating and back to up, by itself.
    await expect.poll(() => seen(PILL), { timeout: LINK_TIMEOUT, interval: 100 }).toEqual(['up', 'updating', 'up']);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Finished: the link is up.' }).count()).toBe(1);
    const changed = (await api<LinkWithEventsBody>('GET', `/api/links/${linkId}`)).body;
    expect(changed).toMatchObject({ state: 'up', a: { cidrs: [...dc.cidrs] } });
    expect(changed.events.map((e) => e.type)).toContain('link.changed');
    if (sites.reaches) expect(await sites.reaches(branch.name, dc.name, 1, 5_000)).toBe(true);
    await shots.take('cidr-applied');

    // Delete, after a confirmation that says what goes.
    await page.getByRole('button', { name: 'Delete link' }).click();
    const confirm = dialog('Delete link');
    await confirm.waitFor();
    await shots.take('delete-confirm');
    await confirm.getByRole('button', { name: 'Delete link' }).click();
    await expect.poll(async () => (await api<LinkWithEventsBody>('GET', `/api/links/${linkId}`)).body.state, { timeout: LINK_TIMEOUT, interval: 200 }).toBe('deleted');
    await expect.poll(() => state.textContent(), { timeout: 5_000 }).toBe('deleted');
    if (sites.reaches) expect(await sites.reaches(branch.name, dc.name, 0, 1_500)).toBe(false);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Map' }).click();
    await topology().waitFor();
    await expect.poll(() => page.locator(`[data-link-id="${linkId}"]`).count()).toBe(0);
    await shots.take('map-after-delete');
    expect(await page.evaluate(() => (window as unknown as { noReloadMarker?: boolean }).noReloadMarker)).toBe(true);
  });
});
