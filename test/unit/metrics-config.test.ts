// METRICS_PORT / METRICS_HOST and AGENT_METRICS_ADDR are validated like every other setting, and
// the tests' Prometheus parser refuses what a Prometheus server would (so a passing parse means something).
import { describe, expect, it } from 'vitest';
import { loadControllerConfig } from '../../controller/config';
import { loadAgentConfig } from '../../agent/config';
import { ConfigError } from '../../lib/env';
import { parsePrometheusText } from '../helpers/prom-text';

const agentEnv = { CONTROLLER_URL: 'https://controller.example', GATEWAY_ID: 'gw1', GATEWAY_SECRET: 'a'.repeat(32) };

describe('metrics settings', () => {
  it('has no metrics listener unless METRICS_PORT is set, and refuses a port another listener has', () => {
    expect(loadControllerConfig({}).METRICS_PORT).toBeUndefined();
    expect(loadControllerConfig({}).METRICS_HOST).toBe('127.0.0.1');
    expect(loadControllerConfig({ METRICS_PORT: '9464' }).METRICS_PORT).toBe(9464);
    expect(() => loadControllerConfig({ METRICS_PORT: '8080' })).toThrow(/METRICS_PORT: the metrics listener needs a port of its own \(PORT is 8080 too\)/);
    expect(() => loadControllerConfig({ METRICS_PORT: 'nine' })).toThrow(ConfigError);
  });

  it('serves no agent metrics unless AGENT_METRICS_ADDR is set, and parses host:port', () => {
    expect(loadAgentConfig(agentEnv).metricsAddr).toBeUndefined();
    expect(loadAgentConfig({ ...agentEnv, AGENT_METRICS_ADDR: '127.0.0.1:9469' }).metricsAddr).toEqual({ host: '127.0.0.1', port: 9469 });
    expect(loadAgentConfig({ ...agentEnv, AGENT_METRICS_ADDR: '[::1]:9469' }).metricsAddr).toEqual({ host: '::1', port: 9469 });
    expect(() => loadAgentConfig({ ...agentEnv, AGENT_METRICS_ADDR: '9469' })).toThrow(/AGENT_METRICS_ADDR: expected host:port/);
    expect(() => loadAgentConfig({ ...agentEnv, AGENT_METRICS_ADDR: 'localhost:70000' })).toThrow(ConfigError);
  });
});

describe('the strict exposition parser', () => {
  const ok = '# HELP x_total X.\n# TYPE x_total counter\nx_total{a="b\\"c"} 3\n';
  it('reads a valid exposition', () => {
    expect(parsePrometheusText(ok).get('x_total')!.samples).toEqual([{ name: 'x_total', labels: { a: 'b"c' }, value: 3 }]);
  });
  it.each([
    ['no final newline', ok.trimEnd()],
    ['a bad value', 'x 1,5\n'],
    ['a bad escape', 'x{a="\\t"} 1\n'],
    ['a duplicate series', 'x{a="1"} 1\nx{a="1"} 2\n'],
    ['a TYPE after samples', 'x 1\n# TYPE x gauge\n'],
    ['a family in two places', 'x 1\ny 1\nx{a="2"} 1\n'],
    ['a negative counter', '# TYPE x_total counter\nx_total -1\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\nh_sum 1\n'],
    ['buckets that are not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 1\n'],
    ['a label starting with __', 'x{__name__="y"} 1\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
});
