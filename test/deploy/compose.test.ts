// deploy/compose.yaml, statically: it parses; every image is ours (the names `npm run images` builds)
// or a well-known public one with a pinned tag; every variable given to a controller is one
// controller/config.ts reads; secrets only come from required variables; two replicas behind the
// front, which routes /agent as a WebSocket to the agents' port; every variable it interpolates is
// documented in README's Deploying section.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CONTROLLER_ENV_NAMES } from '../../controller/config';
import { DEPLOY, interpolate, read, references } from './files';

interface Service {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
}

const text = read('deploy/compose.yaml');
const compose = parse(text, { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;

/** What a user's deploy/.env gives (the required ones); anything else takes the file's default. */
const ENV = { POSTGRES_PASSWORD: 'pw', SECRET_KEY: 'k1', TEMPORAL_PAYLOAD_KEY: 'k2', API_TOKEN: 't', AGENT_PUBLIC_URL: 'https://mesh.example.com' };
const resolved = (value: unknown): string => interpolate(String(value), ENV);

/** The image names scripts/images.sh builds, with the variables that override them. */
function builtImages(): Map<string, string> {
  const script = read('scripts/images.sh');
  const built = new Map<string, string>();
  for (const m of script.matchAll(/^([A-Z_]+_IMAGE)=\$\{\1:-([^}]+)\}/gm)) built.set(m[1]!, m[2]!);
  return built;
}

/** Well-known public images (fully qualified, so Podman never asks which registry is meant). */
const PUBLIC = [/^docker\.io\/library\/postgres:\d+(\.\d+)*$/, /^docker\.io\/library\/nginx:[\d.]+-alpine$/, /^docker\.io\/temporalio\/(server|admin-tools|ui):\d+\.\d+\.\d+$/];

const controllerServices = (): Array<[string, Service]> => {
  const ours = builtImages().get('CONTROLLER_IMAGE');
  return Object.entries(services).filter(([, s]) => s.image !== undefined && resolved(s.image) === ours);
};

describe('deploy/compose.yaml (static)', () => {
  it('parses, and every image is built by npm run images or is a pinned well-known public image', () => {
    const built = builtImages();
    expect([...built.keys()].sort()).toEqual(['AGENT_IMAGE', 'CONTROLLER_IMAGE']);
    expect(Object.keys(services).sort()).toEqual(['controller-1', 'controller-2', 'front', 'migrate', 'postgres', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui']);
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, `${name} has an image`).toBeTypeOf('string');
      const image = resolved(s.image);
      const ours = [...built.entries()].find(([, v]) => v === image);
      if (ours) {
        // Overridable by the same variable scripts/images.sh reads.
        expect(s.image, name).toBe(`\${${ours[0]}:-${ours[1]}}`);
      } else {
        expect(PUBLIC.some((p) => p.test(image)), `${name}: ${image} is neither ours nor a pinned public image`).toBe(true);
      }
    }
    // auto-setup is deprecated: the server image plus admin-tools for the schema, one version for both.
    expect(Object.values(services).filter((s) => /auto-setup/.test(s.image ?? ''))).toEqual([]);
    const versions = ['temporal', 'temporal-schema', 'temporal-namespace'].map((n) => services[n]!.image!.split(':').slice(1).join(':'));
    expect(new Set(versions).size).toBe(1);
  });

  it('gives the controller image only variables controller/config.ts reads', () => {
    const known = new Set(CONTROLLER_ENV_NAMES);
    const ctl = controllerServices();
    expect(ctl.map(([n]) => n).sort()).toEqual(['controller-1', 'controller-2', 'migrate']);
    for (const [name, s] of ctl) {
      const unknown = Object.keys(s.environment ?? {}).filter((v) => !known.has(v));
      expect(unknown, `${name} sets variables the controller does not read`).toEqual([]);
    }
  });

  it('runs two replicas that do not migrate, after a one-shot migrate, behind one front', () => {
    const replicas = controllerServices().filter(([, s]) => s.command === undefined);
    expect(replicas.length).toBeGreaterThanOrEqual(2);
    const ids = replicas.map(([, s]) => s.environment?.HUB_INSTANCE_ID);
    expect(new Set(ids).size).toBe(replicas.length);
    for (const [name, s] of replicas) {
      expect(s.environment?.MIGRATE_ON_START, name).toBe('false');
      expect(s.depends_on?.migrate?.condition, name).toBe('service_completed_successfully');
      expect(s.depends_on?.['temporal-namespace']?.condition, name).toBe('service_completed_successfully');
      expect(resolved(s.environment?.DATABASE_URL)).toMatch(/^postgresql:\/\/[^:]+:pw@postgres:5432\/ipsec_mesh$/);
      expect(s.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(s.healthcheck?.test.join(' ')).toMatch(/healthcheck\.js/);
    }
    expect(services.migrate!.command).toEqual(['migrate']);
    // Every dependency names a service.
    for (const [name, s] of Object.entries(services)) for (const dep of Object.keys(s.depends_on ?? {})) expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
    // The front: its config is the file in deploy/front, its upstreams the replicas' ports, /agent upgraded.
    const front = services.front!;
    const mount = front.volumes?.find((v) => v.endsWith(':/etc/nginx/nginx.conf:ro'));
    expect(mount).toBeDefined();
    const conf = read(path.relative(path.dirname(DEPLOY), path.join(DEPLOY, mount!.split(':')[0]!)));
    for (const [name, s] of replicas) {
      expect(conf).toContain(`server ${name}:${String(s.environment?.PORT)}`);
      expect(conf).toContain(`server ${name}:${String(s.environment?.AGENT_PORT)}`);
    }
    const agentBlock = /location \/agent \{([^}]*)\}/.exec(conf)?.[1] ?? '';
    expect(agentBlock).toMatch(/proxy_pass http:\/\/mesh_agents;/);
    expect(agentBlock).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(agentBlock).toMatch(/proxy_read_timeout \d+s;/);
    expect(Object.keys(front.depends_on ?? {}).sort()).toEqual(replicas.map(([n]) => n).sort());
  });

  it('takes every secret from a required variable, never a value written here', () => {
    const secretish = /SECRET|TOKEN|PASSWORD|PWD|PAYLOAD_KEY/;
    let seen = 0;
    for (const [name, s] of Object.entries(services)) {
      for (const [key, raw] of Object.entries(s.environment ?? {})) {
        const value = String(raw);
        if (secretish.test(key)) {
          seen++;
          expect(value, `${name}.${key}`).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/);
        }
        // A password inside a URL too: it is the value of a required variable.
        if (/^[a-z]+:\/\//.test(value)) {
          const password = decodeURIComponent(new URL(resolved(value)).password);
          if (password) {
            const from = references(value).filter((r) => r.op === '?' && ENV[r.name as keyof typeof ENV] === password);
            expect(from.length, `${name}.${key}: the password comes from a required variable`).toBe(1);
          }
        }
      }
    }
    expect(seen).toBeGreaterThanOrEqual(8);
    // Without them, interpolation fails instead of starting with empty secrets.
    expect(() => interpolate(text, {})).toThrow(/required variable/);
  });

  it('documents every variable it interpolates in README "Deploying"', () => {
    const readme = read('README.md');
    const start = readme.indexOf('\n## Deploying');
    expect(start, 'README has a "## Deploying" section').toBeGreaterThan(readme.indexOf('\n## Operating'));
    const end = readme.indexOf('\n## ', start + 5);
    const section = readme.slice(start, end < 0 ? undefined : end);
    const names = [...new Set(references(text).map((r) => r.name))].sort();
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !section.includes(n))).toEqual([]);
    expect(existsSync(path.join(DEPLOY, 'front', 'nginx.conf'))).toBe(true);
  });
});
