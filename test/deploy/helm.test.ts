// deploy/helm/ipsec-mesh: rendered by the real helm (`helm lint --strict`, `helm template`; the
// binary setup.sh installs) and the manifests checked — replicas, /healthz probes, non-root,
// controller variables only, secrets by reference, the migration Job as a hook after its Secret,
// the Ingress's /agent upgrade — plus a helm-free parse: every .Values path a template reads is in
// values.yaml, and values.yaml and Chart.yaml parse.
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { CONTROLLER_ENV_NAMES } from '../../controller/config';
import { helmBin, ROOT, run } from './files';

const CHART = path.join(ROOT, 'deploy/helm/ipsec-mesh');
const helm = helmBin();
if (!helm) console.warn('helm chart tests skipped: no helm on PATH or in .tools/bin (npm run setup installs it)');

const REQUIRED = ['secrets.secretKey=' + 'ab'.repeat(32), 'secrets.payloadKey=' + 'cd'.repeat(32), 'secrets.apiToken=test-token-0123456789', 'database.url=postgresql://mesh:pw@db:5432/ipsec_mesh'];

interface Manifest {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  stringData?: Record<string, string>;
}
interface Container {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  readinessProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
  securityContext?: Record<string, unknown>;
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
}

function template(sets: string[]): { code: number; out: string; docs: Manifest[] } {
  const r = run(helm!, ['template', 'mesh', CHART, '--namespace', 'mesh', ...sets.flatMap((s) => ['--set', s])]);
  const docs = r.code === 0 ? parseAllDocuments(r.out).map((d) => d.toJS() as Manifest).filter(Boolean) : [];
  return { ...r, docs };
}
const byKind = (docs: Manifest[], kind: string): Manifest[] => docs.filter((d) => d.kind === kind);
const podOf = (m: Manifest): PodSpec => (m.spec.template as { spec: PodSpec }).spec;

describe.skipIf(!helm)(`helm chart rendered by the real helm (${helm ? run(helm, ['version', '--short']).out.trim() : 'absent'})`, () => {
  it('passes helm lint --strict', () => {
    const r = run(helm!, ['lint', '--strict', CHART, ...REQUIRED.flatMap((s) => ['--set', s])]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders a Deployment of 2+ non-root replicas probed on /healthz, given only controller variables', () => {
    const { code, out, docs } = template(REQUIRED);
    expect(code, out).toBe(0);
    expect(docs.map((d) => d.kind).sort()).toEqual(['Deployment', 'Ingress', 'Job', 'PodDisruptionBudget', 'Secret', 'Service']);
    const [deployment] = byKind(docs, 'Deployment');
    expect(deployment!.spec.replicas).toBeGreaterThanOrEqual(2);
    const pod = podOf(deployment!);
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    const [ctl] = pod.containers;
    expect(ctl!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(ctl!.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(ctl!.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    const known = new Set(CONTROLLER_ENV_NAMES);
    const env = ctl!.env ?? [];
    expect(env.map((e) => e.name).filter((n) => !known.has(n))).toEqual([]);
    const value = (n: string) => env.find((e) => e.name === n);
    expect(value('MIGRATE_ON_START')?.value).toBe('false');
    expect(value('HOST')?.value).toBe('0.0.0.0');
    expect(value('AGENT_PUBLIC_URL')?.value).toBe('https://mesh.example.com');
    // Secrets by reference only: no value of theirs in the Deployment.
    for (const n of ['SECRET_KEY', 'TEMPORAL_PAYLOAD_KEY', 'API_TOKEN', 'DATABASE_URL']) expect(value(n)?.valueFrom?.secretKeyRef, n).toEqual({ name: 'mesh-ipsec-mesh', key: n });
    expect(JSON.stringify(deployment)).not.toContain('test-token-0123456789');
  });

  it('runs migrate as a pre-install/pre-upgrade Job after the Secret it reads', () => {
    const { docs } = template(REQUIRED);
    const [job] = byKind(docs, 'Job');
    const [secret] = byKind(docs, 'Secret');
    expect(job!.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(secret!.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(Number(secret!.metadata.annotations?.['helm.sh/hook-weight'])).toBeLessThan(Number(job!.metadata.annotations?.['helm.sh/hook-weight']));
    const pod = podOf(job!);
    expect(pod.containers[0]!.args).toEqual(['migrate']);
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.containers[0]!.env?.map((e) => e.name)).toContain('DATABASE_URL');
    expect(secret!.stringData).toMatchObject({ API_TOKEN: 'test-token-0123456789', DATABASE_URL: 'postgresql://mesh:pw@db:5432/ipsec_mesh' });
  });

  it('routes /agent on the Ingress to the agents port with long proxy timeouts, the rest to the API', () => {
    const { docs } = template(REQUIRED);
    const [ingress] = byKind(docs, 'Ingress');
    const ann = ingress!.metadata.annotations ?? {};
    expect(Number(ann['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
    expect(Number(ann['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(3600);
    const paths = (ingress!.spec.rules as Array<{ http: { paths: Array<{ path: string; backend: { service: { port: { name: string } } } }> } }>)[0]!.http.paths;
    expect(paths.map((p) => [p.path, p.backend.service.port.name])).toEqual([
      ['/agent', 'agent'],
      ['/', 'http'],
    ]);
    const [service] = byKind(docs, 'Service');
    expect((service!.spec.ports as Array<{ name: string }>).map((p) => p.name)).toEqual(['http', 'agent', 'metrics']);
  });

  it('with an existing Secret renders none; a worker-only release is probed on its metrics port; no migration Job: replicas migrate', () => {
    const { code, out, docs } = template(['secrets.existingSecret=mesh-keys', 'roles=worker', 'migration.job=false', 'ingress.enabled=false']);
    expect(code, out).toBe(0);
    expect(byKind(docs, 'Secret')).toEqual([]);
    expect(byKind(docs, 'Job')).toEqual([]);
    const ctl = podOf(byKind(docs, 'Deployment')[0]!).containers[0]!;
    expect(ctl.readinessProbe?.httpGet?.port).toBe('metrics');
    expect(ctl.env?.find((e) => e.name === 'MIGRATE_ON_START')?.value).toBe('true');
    expect(ctl.env?.find((e) => e.name === 'SECRET_KEY')?.valueFrom?.secretKeyRef?.name).toBe('mesh-keys');
  });

  it('refuses to render without the secrets, naming the value to set', () => {
    const r = template([]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/secrets\.(secretKey|payloadKey|apiToken) is required|database\.url is required/);
  });
});

/** Every `.Values.a.b` a template reads, by file. */
function valuePaths(): Array<{ file: string; path: string }> {
  const dir = path.join(CHART, 'templates');
  const found: Array<{ file: string; path: string }> = [];
  for (const file of readdirSync(dir)) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) found.push({ file, path: m[1]!.slice(1) });
  }
  return found;
}

describe('helm chart parsed without helm', () => {
  it('Chart.yaml and values.yaml parse, and every .Values path the templates read exists in values.yaml', () => {
    const chart = parse(readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as { apiVersion: string; name: string; version: string };
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'ipsec-mesh' });
    const values = parse(readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    expect(values.replicaCount).toBeGreaterThanOrEqual(2);
    const uses = valuePaths();
    expect(uses.length).toBeGreaterThan(30);
    const missing = uses.filter(({ path: p }) => {
      let at: unknown = values;
      for (const key of p.split('.')) {
        if (at === null || typeof at !== 'object' || !(key in at)) return true;
        at = (at as Record<string, unknown>)[key];
      }
      return false;
    });
    expect(missing).toEqual([]);
    // Extra controller settings (values.env) are controller variables too.
    const known = new Set(CONTROLLER_ENV_NAMES);
    expect(Object.keys(values.env as Record<string, string>).filter((n) => !known.has(n))).toEqual([]);
  });
});
