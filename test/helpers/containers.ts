// Podman for the container tests: whether it can run here, the images built by the same script as
// `npm run images` (cached by a hash of their inputs), and containers started and always removed.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
export const IMAGES_DIR = path.join(ROOT, '.tools', 'images');
export const AGENT_IMAGE = 'localhost/ipsec-mesh-agent:latest';
export const CONTROLLER_IMAGE = 'localhost/ipsec-mesh-controller:latest';

/** DESIGN.md §3: RLIMIT_NOFILE cannot be raised here and the cgroup layout wants cgroupfs. */
const CONTAINERS_CONF = path.join(IMAGES_DIR, 'containers.conf');
function containersConf(): string {
  if (process.env.CONTAINERS_CONF && existsSync(process.env.CONTAINERS_CONF)) return process.env.CONTAINERS_CONF;
  mkdirSync(IMAGES_DIR, { recursive: true });
  writeFileSync(CONTAINERS_CONF, '# Written by test/helpers/containers.ts (DESIGN.md §3).\n[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n');
  return CONTAINERS_CONF;
}

export type Support = { ok: true } | { ok: false; reason: string };

/** Root and a working Podman (scripts/ensure-test-tools.sh installs it as root). */
export function containerSupport(): Support {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (rootful Podman, network namespaces and NET_ADMIN containers need root)' };
  const r = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { ok: false, reason: 'podman is not installed (scripts/ensure-test-tools.sh installs podman, runc and mmdebstrap as root)' };
  return { ok: true };
}

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `podman --runtime runc ARGS`; resolves with the exit code (never rejects on a non-zero exit). */
export function podman(args: string[], opts: { timeoutMs?: number } = {}): Promise<PodmanResult> {
  return new Promise((resolve, reject) => {
    execFile('podman', ['--runtime', 'runc', ...args], { env: { ...process.env, CONTAINERS_CONF: containersConf() }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      if (err && code === -1) return reject(new Error(`podman ${args.join(' ')}: ${err.message}\n${stderr}`));
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like podman(), but a non-zero exit is an error carrying podman's stderr. */
export async function podmanOk(args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  const r = await podman(args, opts);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

export interface BuiltImage {
  image: string;
  sizeMb: number;
  seconds: number;
  status: 'built' | 'cached';
}

/**
 * Runs scripts/images.sh (what `npm run images` runs), which builds only images whose inputs
 * changed; returns its per-image report and how long the whole script took.
 */
export async function buildImages(env: Record<string, string> = {}): Promise<{ images: BuiltImage[]; seconds: number; log: string }> {
  const t0 = Date.now();
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile('bash', [path.join(ROOT, 'scripts', 'images.sh')], { cwd: ROOT, env: { ...process.env, CONTAINERS_CONF: containersConf(), ...env }, timeout: 900_000, maxBuffer: 64 * 1024 * 1024 }, (err, out, errOut) => {
      if (err) return reject(new Error(`scripts/images.sh failed: ${err.message}\n${errOut}`));
      resolve({ stdout: out, stderr: errOut });
    });
  });
  const images = stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [image, size, secs, status] = line.split('\t');
      return { image: image!, sizeMb: parseFloat(size!), seconds: parseFloat(secs!), status: status as BuiltImage['status'] };
    });
  return { images, seconds: (Date.now() - t0) / 1000, log: stderr };
}

let built: ReturnType<typeof buildImages> | undefined;
/** The images, built at most once per test process. */
export function ensureImages(): ReturnType<typeof buildImages> {
  built ??= buildImages();
  return built;
}

/** A container started with `podman run -d`; remove() stops and deletes it (idempotent). */
export class Container {
  constructor(readonly name: string) {}

  static async run(name: string, image: string, args: string[], command: string[] = []): Promise<Container> {
    await podman(['rm', '--force', '--time', '0', name]); // a leftover of a killed run
    await podmanOk(['run', '--detach', '--name', name, ...args, image, ...command]);
    return new Container(name);
  }

  async exec(command: string[]): Promise<PodmanResult> {
    return podman(['exec', this.name, ...command]);
  }

  async logs(): Promise<string> {
    const r = await podman(['logs', this.name]);
    return `${r.stdout}${r.stderr}`;
  }

  /** The container's state: running, and the exit code once it stopped. */
  async state(): Promise<{ running: boolean; exitCode: number; status: string }> {
    const out = await podmanOk(['inspect', '--format', '{{.State.Running}} {{.State.ExitCode}} {{.State.Status}}', this.name]);
    const [running, code, status] = out.trim().split(' ');
    return { running: running === 'true', exitCode: Number(code), status: status ?? '' };
  }

  /** Runs the image's HEALTHCHECK once: 0 healthy; the check's own output for messages. */
  async healthcheck(): Promise<PodmanResult> {
    return podman(['healthcheck', 'run', this.name]);
  }

  /** What the agent image's health check says (it prints its verdict); the same script as HEALTHCHECK. */
  async healthReason(): Promise<string> {
    const r = await this.exec(['/usr/local/bin/node', '/app/healthcheck.js']);
    return r.stdout.trim();
  }

  async stop(timeoutS = 10): Promise<void> {
    await podmanOk(['stop', '--time', String(timeoutS), this.name]);
  }

  async remove(): Promise<void> {
    await podman(['rm', '--force', '--time', '0', this.name]);
  }
}
