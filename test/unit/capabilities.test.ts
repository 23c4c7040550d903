// Providers state their capabilities as plain data and the orchestration reads them: every provider
// is registered, its object carries the registry's record, the record matches the methods the
// provider has, the records import nothing a workflow bundle cannot hold, and workflows/ and
// activities/ never branch on a provider's name.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capabilitiesOf, endpointServicesOf, PROVIDER_NAMES } from '../../cloud/capabilities';
import { createProvider } from '../../cloud';
import { DEFAULT_BUDGETS } from '../../cloud/budgets';
import type { CloudProvider, CloudProviderName, CloudTarget } from '../../cloud/types';

const root = join(import.meta.dirname, '..', '..');

const targets: Record<CloudProviderName, CloudTarget> = {
  aliyun: { provider: 'aliyun', region: 'cn-hangzhou', credentials: { accessKeyId: 'AK', accessKeySecret: 'SECRET' }, endpoints: { vpc: 'http://127.0.0.1:9', ecs: 'http://127.0.0.1:9' } },
  aws: { provider: 'aws', region: 'eu-west-1', credentials: { accessKeyId: 'AK', accessKeySecret: 'SECRET' }, endpoints: { ec2: 'http://127.0.0.1:9' } },
};

/** Every .ts file under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

describe('provider capabilities', () => {
  it('registers every provider, with a budget and endpoints, and fails loudly for an unknown one', () => {
    expect([...PROVIDER_NAMES].sort()).toEqual(Object.keys(DEFAULT_BUDGETS).sort());
    expect(endpointServicesOf('aliyun')).toEqual(['vpc', 'ecs']);
    expect(endpointServicesOf('aws')).toEqual(['ec2']);
    expect(() => capabilitiesOf('gcp' as CloudProviderName)).toThrow(/unknown cloud provider "gcp"/);
  });

  it('the provider object carries the registry record, and the record matches the methods it has', () => {
    for (const name of PROVIDER_NAMES) {
      const provider: CloudProvider = createProvider(targets[name]);
      const caps = provider.capabilities;
      expect(caps).toBe(capabilitiesOf(name));
      expect(Object.isFrozen(caps)).toBe(true);
      const has = (method: keyof CloudProvider): boolean => typeof provider[method] === 'function';
      const batchRoutes = (['createRoutes', 'deleteRoutes', 'listRoutes'] as const).map(has);
      expect(batchRoutes, `${name}: batch route methods vs routeBatchSize`).toEqual(batchRoutes.map(() => caps.routeBatchSize > 0));
      expect(has('replaceRoute'), `${name}: replaceRoute vs replaceRouteInPlace`).toBe(caps.replaceRouteInPlace);
      const batchRules = (['allowPeers', 'revokePeers'] as const).map(has);
      expect(batchRules, `${name}: batch rule methods vs peerRulesPerCall`).toEqual(batchRules.map(() => caps.peerRulesPerCall > 1));
      // A table's workflow batches only where writes are serialised; batching rules needs a batch call.
      if (caps.routeBatchSize > 0) expect(caps.serialisedRouteWrites).toBe(true);
      if (caps.batchedRuleWrites) expect(caps.peerRulesPerCall).toBeGreaterThan(1);
      expect(caps.usableRouteStates.length).toBeGreaterThan(0);
    }
  });

  it('states what each cloud does (the values the orchestration relied on by name before)', () => {
    expect(capabilitiesOf('aliyun')).toEqual({
      serialisedRouteWrites: true,
      asyncRouteEntries: true,
      usableRouteStates: ['Available'],
      routeBatchSize: 50,
      replaceRouteInPlace: false,
      routeIdempotencyToken: true,
      batchedRuleWrites: true,
      peerRulesPerCall: 50,
      prepareInstanceCalls: 0,
    });
    expect(capabilitiesOf('aws')).toEqual({
      serialisedRouteWrites: false,
      asyncRouteEntries: false,
      usableRouteStates: ['active', 'blackhole'],
      routeBatchSize: 0,
      replaceRouteInPlace: true,
      routeIdempotencyToken: false,
      batchedRuleWrites: false,
      peerRulesPerCall: 1,
      prepareInstanceCalls: 1,
    });
  });

  it('the records are plain data: their files import types only, or other capability records', () => {
    const files = ['cloud/capabilities.ts', ...PROVIDER_NAMES.map((name) => `cloud/${name}/capabilities.ts`)];
    for (const file of files) {
      const imports = readFileSync(join(root, file), 'utf8').match(/^import .*$/gm) ?? [];
      for (const line of imports) expect(line, file).toMatch(/^import type |from '\.\/(\w+\/)?capabilities';$/);
    }
  });

  it('workflows/ and activities/ never branch on a provider name', () => {
    const branches = ['workflows', 'activities']
      .flatMap((dir) => sources(join(root, dir)))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .map((line, i) => ({ where: `${file.slice(root.length + 1)}:${i + 1}`, line }))
          .filter(({ line }) => PROVIDER_NAMES.some((name) => line.includes(`'${name}'`) || line.includes(`"${name}"`))),
      );
    expect(branches).toEqual([]);
  });
});
