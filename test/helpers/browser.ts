// Real headless Chromium for the console's browser tests and bench:console: Debian's `chromium`
// (installed by scripts/ensure-test-tools.sh) driven by playwright-core, whose own browser download
// cannot work here. A page at 1280×800, screenshots of each step kept as artifacts, and an axe-core
// check that fails on serious or critical accessibility violations.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const ROOT = path.resolve(__dirname, '..', '..');

/** The flags of DESIGN §3: no sandbox (root), no GPU, nothing that phones home or updates itself. */
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const VIEWPORT = { width: 1280, height: 800 };

export type BrowserSupport = { ok: true; executablePath: string } | { ok: false; reason: string };

/** CHROMIUM_PATH, else Debian's /usr/bin/chromium; a reason to print when it is not there. */
export function browserSupport(): BrowserSupport {
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (existsSync(executablePath)) return { ok: true, executablePath };
  const how = process.getuid?.() === 0 ? 'run scripts/ensure-test-tools.sh' : 'not root: run scripts/ensure-test-tools.sh as root';
  return { ok: false, reason: `no Chromium at ${executablePath} (${how}, or set CHROMIUM_PATH)` };
}

/**
 * Builds the console (web/ → web/dist) when it is missing or older than its sources, as npm start
 * does, so a browser test or the benchmark run on its own sees the console of this checkout.
 */
export async function buildConsole(): Promise<void> {
  // vitest sets NODE_ENV=test, which would make Vite emit React's development JSX calls
  // (jsxDEV) against the production runtime: a console that throws on load.
  await promisify(execFile)('bash', [path.join(ROOT, 'scripts', 'build-web.sh')], { cwd: ROOT, timeout: 180_000, env: { ...process.env, NODE_ENV: 'production' } });
}

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors so far, for a failing test to print. */
  errors: string[];
  close(): Promise<void>;
}

/** Launches Chromium with a fresh profile directory (removed on close) and opens one 1280×800 page. */
export async function launchBrowser(): Promise<TestBrowser> {
  const support = browserSupport();
  if (!support.ok) throw new Error(support.reason);
  const profile = mkdtempSync(path.join(tmpdir(), 'chromium-profile-'));
  let context: BrowserContext;
  try {
    // A persistent context is how playwright takes a user-data-dir of our choosing.
    context = await chromium.launchPersistentContext(profile, { executablePath: support.executablePath, headless: true, args: FLAGS, viewport: VIEWPORT });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface Screenshots {
  /** Saves the page as `.artifacts/screenshots/<test>/NN-<step>.png` and returns the path. */
  take(step: string): Promise<string>;
  readonly dir: string;
}

/** Screenshots of one test's steps, numbered in order; the test's folder starts empty each run. */
export function screenshots(page: Page, test: string): Screenshots {
  const dir = path.join(ROOT, '.artifacts', 'screenshots', test);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let n = 0;
  return {
    dir,
    async take(step) {
      n += 1;
      const file = path.join(dir, `${String(n).padStart(2, '0')}-${step.replace(/[^A-Za-z0-9_-]+/g, '-')}.png`);
      await page.screenshot({ path: file });
      return file;
    },
  };
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[]; failureSummary?: string }>;
}

const AXE_PATH = createRequire(path.join(ROOT, 'package.json')).resolve('axe-core');

/**
 * Runs axe-core on the page (or on the part `include` selects) and throws when it finds serious or
 * critical violations, listing each with the elements it concerns.
 */
export async function expectAccessible(page: Page, what: string, include?: string): Promise<void> {
  // Evaluated rather than added as a <script>: the console's Content-Security-Policy (script-src
  // 'self') rightly refuses inline scripts, and the test must not switch that policy off.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(readFileSync(AXE_PATH, 'utf8'));
  const violations = await page.evaluate(async (selector) => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(selector ? { include: [selector] } : document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  }, include ?? null);
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length === 0) return;
  const lines = bad.map((v) => `  ${v.impact} ${v.id}: ${v.help}\n${v.nodes.slice(0, 5).map((n) => `      ${n.target.join(' ')}: ${(n.failureSummary ?? '').replace(/\s+/g, ' ').trim()}`).join('\n')}${v.nodes.length > 5 ? `\n      … ${v.nodes.length - 5} more` : ''}`);
  throw new Error(`axe: ${bad.length} serious or critical accessibility violation(s) on ${what}:\n${lines.join('\n')}`);
}
