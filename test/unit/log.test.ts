// The controller's and agent's logger (lib/log.ts, pino): JSON lines with the current request id,
// secrets redacted by configuration wherever a caller put them, errors as name and message.
import { describe, expect, it } from 'vitest';
import { createLogger, REDACTED } from '../../lib/log';
import { withRequestId } from '../../lib/request-context';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
  return { lines, destination };
}

describe('logger', () => {
  it('writes JSON lines with time, level, message, base fields and the caller\'s fields', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', base: { instance: 'c1' }, destination });
    log.debug('not at info');
    log.info('gateway online', { gatewayId: 'gw1' });
    log.child({ component: 'hub' }).warn('slow', { ms: 12 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'gateway online', instance: 'c1', gatewayId: 'gw1' });
    expect(new Date(String(lines[0]!.t)).toISOString()).toBe(lines[0]!.t);
    expect(lines[1]).toMatchObject({ level: 'warn', msg: 'slow', instance: 'c1', component: 'hub', ms: 12 });
  });

  it('names the current request id on every line written while the request runs, and only then', async () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    await withRequestId('req-42', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      log.info('inside');
    });
    log.info('outside');
    expect(lines[0]).toMatchObject({ msg: 'inside', requestId: 'req-42' });
    expect(lines[1]).not.toHaveProperty('requestId');
  });

  it('redacts secrets wherever a caller put them, up to two levels down, without touching the caller\'s objects', () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    const account = { name: 'prod', credentials: { accessKeyId: 'LTAIkey', accessKeySecret: 'ali-secret-value' } };
    log.info('secrets everywhere', {
      psk: 'psk-value-1',
      agentSecret: 'agent-secret-2',
      headers: { authorization: 'Bearer imt_token3' },
      account,
      aws: { config: { secretAccessKey: 'aws-secret-4' } },
      token: 'imt_token5',
    });
    log.child({ apiToken: 'shared-token-6' }).error('child binding');
    const text = lines.map((line) => JSON.stringify(line)).join('\n');
    for (const secret of ['psk-value-1', 'agent-secret-2', 'imt_token3', 'ali-secret-value', 'aws-secret-4', 'imt_token5', 'shared-token-6']) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ psk: REDACTED, agentSecret: REDACTED, headers: { authorization: REDACTED }, account: { name: 'prod', credentials: { accessKeyId: 'LTAIkey', accessKeySecret: REDACTED } }, aws: { config: { secretAccessKey: REDACTED } } });
    expect(lines[1]).toMatchObject({ apiToken: REDACTED });
    expect(account.credentials.accessKeySecret).toBe('ali-secret-value');
  });

  it('logs an error as its name and message, whatever field holds it', () => {
    const { lines, destination } = capture();
    createLogger({ destination }).error('failed', { err: new TypeError('bad input'), cause: new Error('db down') });
    expect(lines[0]).toMatchObject({ err: { name: 'TypeError', message: 'bad input' }, cause: { name: 'Error', message: 'db down' } });
  });
});
