// npm run bench:console — the console with a big mesh, in headless Chromium: 1,000 gateways and
// 2,000 links seeded straight into a SQLite database (links spread over every state), one
// controller process serving the API and the console (roles=api: seeded rows need no worker), then
//   - time from navigation start until the map is interactive ([data-testid=topology][data-ready=true]),
//     a cold load and warm reloads;
//   - latency from a link's state change in the database (a write in this process, which the
//     change-log triggers record and the controller's change feed picks up) to that edge's
//     data-state in the page, one change at a time, timed by a MutationObserver in the page;
//   - the gzipped size of the console's JavaScript (web/dist/assets/*.js);
//   - CPU seconds of the controller and of the browser (all its processes) over the measurements.
// Targets: interactive ≤ 2 s; change → DOM p95 ≤ 1 s; JavaScript ≤ 350 KB gzipped.
// Knobs (environment): BENCH_GATEWAYS (1000), BENCH_LINKS (2000), BENCH_CHANGES (50), BENCH_LOADS (3).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { migrateDb, openDb, type Db } from '../db';
import { startDevServer, type DevServer } from '../controller/temporal-dev';
import { encrypt, newSecretKey, parseSecretKey, type SecretKey } from '../lib/crypto';
import { buildConsole, launchBrowser, type TestBrowser } from '../test/helpers/browser';
import { LogDir, portOutsideEphemeralRange, startControllerProc, type ControllerProc } from '../test/helpers/procs';
import { cpuSeconds, percentile } from './stats';

const GATEWAYS = Number(process.env.BENCH_GATEWAYS ?? 1000);
const LINKS = Number(process.env.BENCH_LINKS ?? 2000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 50);
const LOADS = Number(process.env.BENCH_LOADS ?? 3);
const TARGET = { interactiveMs: 2000, changeP95Ms: 1000, jsGzipKiB: 350 };
const ROOT = path.resolve(__dirname, '..');
const READY = '[data-testid="topology"][data-ready="true"]';

/** How the seeded links' states are spread: mostly up, every other state present. */
const STATE_MIX: Array<[string, number]> = [['up', 0.8], ['provisioning', 0.05], ['updating', 0.05], ['degraded', 0.04], ['failed', 0.04], ['deleting', 0.02]];

function stateAt(i: number, n: number): string {
  let edge = 0;
  for (const [state, share] of STATE_MIX) {
    edge += share * n;
    if (i < edge) return state;
  }
  return 'up';
}

/** Gateway i: on-prem, Alibaba Cloud or AWS in turn, each with its own /24. */
async function seed(db: Db, key: SecretKey): Promise<void> {
  await db.cloudAccount.createMany({ data: [{ id: 'acali', name: 'bench-aliyun', provider: 'aliyun' }, { id: 'acaws', name: 'bench-aws', provider: 'aws' }] });
  const id = (i: number) => `gwb${String(i).padStart(5, '0')}`;
  const gateways = Array.from({ length: GATEWAYS }, (_, i) => {
    const provider = (['onprem', 'aliyun', 'aws'] as const)[i % 3]!;
    const cidr = `10.${Math.floor(i / 250)}.${i % 250}.0/24`;
    const base = { id: id(i), name: `${provider === 'onprem' ? 'dc' : 'vpc'}-${i}`, provider, cidrs: JSON.stringify([cidr]), publicIp: `198.51.${Math.floor(i / 250)}.${(i % 250) + 1}`, secretHash: 'x', online: i % 7 !== 0, hubInstance: 'bench', state: 'ready' };
    if (provider === 'onprem') return base;
    return { ...base, accountId: provider === 'aws' ? 'acaws' : 'acali', region: provider === 'aws' ? 'eu-west-1' : 'cn-hangzhou', instanceId: `i-${i}`, privateIp: `172.16.${i % 250}.10`, vpcId: `vpc-${i}`, routeTableIds: JSON.stringify([`rtb-${i}`]), securityGroupIds: JSON.stringify([`sg-${i}`]) };
  });
  await db.gateway.createMany({ data: gateways });
  // Distinct pairs: i with i+1 and with i+17 (mod the gateway count) give 2 links per gateway.
  const links = Array.from({ length: LINKS }, (_, j) => {
    const i = j % GATEWAYS;
    const step = [1, 17, 41, 97][Math.floor(j / GATEWAYS)] ?? 1;
    const [a, b] = [id(i), id((i + step) % GATEWAYS)].sort() as [string, string];
    const linkId = `lnb${String(j).padStart(5, '0')}`;
    const state = stateAt(j, LINKS);
    return {
      id: linkId, aId: a, bId: b, activePairKey: `${a}|${b}`, state, stateReason: state === 'failed' ? 'seeded as failed' : null,
      aCidrs: gateways[Number(a.slice(3))]!.cidrs, bCidrs: gateways[Number(b.slice(3))]!.cidrs,
      pskCiphertext: encrypt(key, randomBytes(24).toString('base64'), { table: 'Link', id: linkId }), workflowId: `link-${linkId}`, aTunnelUp: state === 'up', bTunnelUp: state === 'up',
    };
  });
  await db.link.createMany({ data: links });
}

/** The browser's processes: every descendant of this process except the servers it started (`others`). */
function browserCpuSeconds(others: Array<number | undefined>): number {
  const parent = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const under = (pid: number, root: number): boolean => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  let total = 0;
  for (const pid of parent.keys()) if (pid !== process.pid && under(pid, process.pid) && !others.some((o) => o !== undefined && under(pid, o))) total += cpuSeconds(pid);
  return total;
}

interface Load {
  /** ms from navigation start (the page's time origin) until the map said it is interactive. */
  ready: number;
  /** ms until DOMContentLoaded, and until the last API response the page asked for before ready arrived. */
  dom: number;
  api: number;
}

/** Loads the console; where the time until the map was interactive went. */
async function load(b: TestBrowser, url: string): Promise<Load> {
  await b.page.goto(url, { waitUntil: 'commit' });
  await b.page.locator(READY).waitFor({ timeout: 60_000 });
  // The init script's observer noted the moment.
  return b.page.evaluate(() => {
    const ready = (window as unknown as { readyAt: number }).readyAt;
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
    const api = performance
      .getEntriesByType('resource')
      .filter((r) => r.name.includes('/api/') && !r.name.includes('/api/events') && r.startTime < ready)
      .reduce((end, r) => Math.max(end, (r as PerformanceResourceTiming).responseEnd), 0);
    return { ready, dom: nav?.domContentLoadedEventEnd ?? NaN, api };
  });
}

/** Changes `linkId` to `state` in the database; ms from the write until the page shows it. */
async function changeToDom(b: TestBrowser, db: Db, linkId: string, state: string): Promise<number> {
  const seen = b.page.evaluate(
    ([id, want]) =>
      // No named functions in here: tsx would wrap them in a __name() helper the page lacks.
      new Promise<number>((resolve, reject) => {
        const observer = new MutationObserver(() => {
          if (document.querySelector(`[data-link-id="${id}"]`)?.getAttribute('data-state') !== want) return;
          observer.disconnect();
          clearTimeout(timer);
          resolve(performance.timeOrigin + performance.now());
        });
        const timer = setTimeout(() => {
          observer.disconnect();
          reject(new Error(`link ${id} did not show ${want} within 10 s`));
        }, 10_000);
        observer.observe(document.querySelector('[data-testid="topology"]')!, { subtree: true, attributes: true, attributeFilter: ['data-state'], childList: true });
      }),
    [linkId, state] as const,
  );
  seen.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  await b.page.evaluate(() => undefined); // evaluations run in order: the observer is in place
  const t0 = Date.now();
  await db.link.update({ where: { id: linkId }, data: { state } });
  return (await seen) - t0;
}

function jsSizes(): { files: number; rawKiB: number; gzipKiB: number; entryGzipKiB: number } {
  const dir = path.join(ROOT, 'web', 'dist', 'assets');
  const index = fs.readFileSync(path.join(ROOT, 'web', 'dist', 'index.html'), 'utf8');
  let raw = 0;
  let gz = 0;
  let entry = 0;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.js'));
  for (const f of files) {
    const body = fs.readFileSync(path.join(dir, f));
    const size = gzipSync(body).length;
    raw += body.length;
    gz += size;
    if (index.includes(`/assets/${f}`)) entry += size;
  }
  return { files: files.length, rawKiB: raw / 1024, gzipKiB: gz / 1024, entryGzipKiB: entry / 1024 };
}

const verdict = (ok: boolean) => (ok ? 'meets target' : 'MISSES target');

async function main(): Promise<void> {
  console.log(`bench:console — ${GATEWAYS} gateways, ${LINKS} links; ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  await buildConsole();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-console-'));
  const logs = new LogDir('bench-console');
  const url = `file:${path.join(dir, 'console.db')}`;
  const secretKey = newSecretKey();
  let temporal: DevServer | undefined;
  let controller: ControllerProc | undefined;
  let browser: TestBrowser | undefined;
  let db: Db | undefined;
  try {
    await migrateDb(url);
    db = await openDb(url);
    const t = Date.now();
    await seed(db, parseSecretKey(secretKey));
    console.log(`seeded in ${Date.now() - t} ms`);
    // The API role still connects to Temporal at start; no worker runs.
    temporal = await startDevServer({ port: await portOutsideEphemeralRange(), headless: true });
    controller = await startControllerProc({ name: 'controller', logs, roles: ['api'], temporalAddress: temporal.address, databaseUrl: url, taskQueue: 'bench-console', secretKey, env: { LOG_LEVEL: 'warn' } });
    browser = await launchBrowser();
    await browser.page.addInitScript((selector: string) => {
      new MutationObserver((_, observer) => {
        if (!document.querySelector(selector)) return;
        (window as unknown as { readyAt: number }).readyAt = performance.now();
        observer.disconnect();
      }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-ready'] });
    }, READY);

    const servers = [controller.pid, temporal.pid];
    const cpu = { controller: cpuSeconds(controller.pid), browser: browserCpuSeconds(servers) };
    const loads: Load[] = [];
    // BENCH_CONSOLE_PROFILE=FILE keeps the page's V8 CPU profile of the last load (open in Chrome DevTools).
    const profiler = process.env.BENCH_CONSOLE_PROFILE ? await browser.page.context().newCDPSession(browser.page) : undefined;
    for (let i = 0; i < LOADS; i++) {
      const last = i === LOADS - 1;
      if (profiler && last) await profiler.send('Profiler.enable').then(() => profiler.send('Profiler.start'));
      loads.push(await load(browser, `${controller.url}/`));
      if (profiler && last) fs.writeFileSync(process.env.BENCH_CONSOLE_PROFILE!, JSON.stringify((await profiler.send('Profiler.stop')).profile));
    }
    const ready = loads.map((l) => l.ready);
    const edges = await browser.page.locator('[data-link-id]').count();
    const candidates = await browser.page.locator('[data-link-id][data-state="up"]').evaluateAll((els) => els.map((el) => el.getAttribute('data-link-id')!));
    if (candidates.length < CHANGES) throw new Error(`only ${candidates.length} up links in the page (of ${edges} edges)`);
    const changes: number[] = [];
    const flip = ['degraded', 'up'];
    for (let i = 0; i < CHANGES; i++) {
      const linkId = candidates[Math.floor((i * candidates.length) / CHANGES)]!;
      changes.push(await changeToDom(browser, db, linkId, flip[0]!));
      changes.push(await changeToDom(browser, db, linkId, flip[1]!));
      await new Promise((r) => setTimeout(r, 37)); // spread the writes over the feed's poll phase
    }
    const cpuUsed = { controller: cpuSeconds(controller.pid) - cpu.controller, browser: browserCpuSeconds(servers) - cpu.browser };
    const js = jsSizes();
    const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
    console.log(`edges in the page: ${edges} of ${LINKS} links`);
    console.log(`navigation → map interactive: cold ${fmt(ready[0]!)}, then ${ready.slice(1).map(fmt).join(', ')}; p50 ${fmt(percentile(ready, 50))}   target ≤ ${TARGET.interactiveMs} ms (cold): ${verdict(ready[0]! <= TARGET.interactiveMs)}`);
    for (const [i, l] of loads.entries()) console.log(`  load ${i + 1}: DOMContentLoaded ${fmt(l.dom)}, last API response ${fmt(l.api)}, interactive ${fmt(l.ready)}`);
    console.log(`link state change in the database → edge in the DOM (${CHANGES} links, each changed and changed back: ${changes.length} changes): p50 ${fmt(percentile(changes, 50))}, p95 ${fmt(percentile(changes, 95))}, max ${fmt(Math.max(...changes))}   target p95 ≤ ${TARGET.changeP95Ms} ms: ${verdict(percentile(changes, 95) <= TARGET.changeP95Ms)}`);
    console.log(`console JavaScript: ${js.files} files, ${js.rawKiB.toFixed(0)} KiB raw, ${js.gzipKiB.toFixed(1)} KiB gzipped (entry chunk ${js.entryGzipKiB.toFixed(1)} KiB)   target ≤ ${TARGET.jsGzipKiB} KB: ${verdict(js.gzipKiB <= TARGET.jsGzipKiB)}`);
    console.log(`CPU over the loads and changes: controller ${cpuUsed.controller.toFixed(2)} s, browser ${cpuUsed.browser.toFixed(2)} s (a shared 2-core machine: wall times are noisy, CPU less so)`);
  } finally {
    await browser?.close();
    await controller?.stop();
    await temporal?.stop();
    await db?.$disconnect();
    logs.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
