// vitest globalSetup: the directory the run's test files share things through (test/helpers/run.ts),
// and, when the run ends, the Temporal dev server one of them started stopped and the directory
// removed. Directories of earlier runs whose vitest died without cleaning up are swept first.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RUN_DIR_ENV, SHARED_TEMPORAL, type SharedServer } from '../helpers/run';

const PREFIX = 'ipsec-test-run-';
const OWNER_ENV = 'IPSEC_TEST_RUN_OWNER';

export default function setup(): () => Promise<void> {
  // Every answer of /api in every test (in-process APIs and spawned controllers alike, which
  // inherit the environment) is checked against the OpenAPI document (api/openapi/contract-check.ts).
  process.env.API_CONTRACT_CHECK ??= '1';
  // vitest runs a globalSetup once per project too: the run has one directory, made by the first.
  if (process.env[OWNER_ENV] === String(process.pid) && process.env[RUN_DIR_ENV]) return async () => undefined;
  process.env[OWNER_ENV] = String(process.pid);
  sweepStaleRuns();
  const dir = mkdtempSync(path.join(tmpdir(), PREFIX));
  writeFileSync(path.join(dir, 'owner.pid'), String(process.pid));
  process.env[RUN_DIR_ENV] = dir;
  return async () => {
    await stopServer(dir);
    rmSync(dir, { recursive: true, force: true });
  };
}

async function stopServer(dir: string): Promise<void> {
  const file = path.join(dir, `${SHARED_TEMPORAL}.json`);
  if (!existsSync(file)) return;
  const { pid } = JSON.parse(readFileSync(file, 'utf8')) as SharedServer;
  if (!signal(pid, 'SIGTERM')) return;
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  signal(pid, 'SIGKILL');
}

function sweepStaleRuns(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(tmpdir(), name);
    const owner = Number(readIf(path.join(dir, 'owner.pid')));
    if (owner && alive(owner)) continue;
    const server = readIf(path.join(dir, `${SHARED_TEMPORAL}.json`));
    if (server) signal((JSON.parse(server) as SharedServer).pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function readIf(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Signals the process group the server leads (it was started detached). */
function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
