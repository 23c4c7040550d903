// Shared by the deployment files' static checks: where things are, the tools (helm, hadolint: on
// PATH or where scripts/setup.sh puts them), and Compose's variable interpolation.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DEPLOY = path.join(ROOT, 'deploy');

export const read = (rel: string): string => readFileSync(path.join(ROOT, rel), 'utf8');

/** `name` on PATH, else the project-local copy setup.sh installs; undefined when neither is there. */
export function findTool(name: string, local: string[]): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return local.map((p) => path.resolve(ROOT, p)).find((p) => existsSync(p));
}

export const helmBin = (): string | undefined => findTool('helm', ['.tools/bin/helm']);
export const hadolintBin = (): string | undefined => findTool('hadolint', ['.tools/venv/bin/hadolint']);

/** Runs a tool; resolves with its exit code and output (never throws on a non-zero exit). */
export function run(bin: string, args: string[], input?: string): { code: number; out: string } {
  try {
    const out = execFileSync(bin, args, { cwd: ROOT, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000, ...(input !== undefined ? { input } : {}) });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status?: number | null; stdout?: string; stderr?: string; message: string };
    return { code: e.status ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}

/** Every file named `name` under `dir`, recursively. */
export function filesNamed(dir: string, name: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name === name)
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

export interface Interpolation {
  name: string;
  /** `-` (default when unset or empty), `?` (required), or none. */
  op: '-' | '?' | undefined;
  arg: string | undefined;
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}/g;

/** The `${…}` references of a Compose string (`$$` is a literal dollar, not a reference). */
export function references(text: string): Interpolation[] {
  const bare = text.replace(/\$\$/g, '');
  return [...bare.matchAll(VAR)].map((m) => ({ name: m[1]!, op: m[2] as Interpolation['op'], arg: m[3] }));
}

/** Compose's interpolation with `env`: defaults applied, a missing required variable an error. */
export function interpolate(text: string, env: Record<string, string>): string {
  return text
    .split('$$')
    .map((part) =>
      part.replace(VAR, (_all, name: string, op: string | undefined, arg: string | undefined) => {
        const value = env[name];
        if (op === '?' && !value) throw new Error(`required variable ${name} is not set: ${arg ?? ''}`);
        if (op === '-' && !value) return arg ?? '';
        return value ?? '';
      }),
    )
    .join('$');
}
