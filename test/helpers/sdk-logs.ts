// The Temporal SDK's log lines in tests: at ERROR only, and the ones a test provokes on purpose
// kept for it instead of printed. Imports nothing but the worker package.
import { inspect } from 'node:util';
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogEntry, type LogLevel } from '@temporalio/worker';

/**
 * The SDK's own log lines (`Activity failed` for every failure a test provokes, `No workflows
 * registered`, core's warnings) at ERROR only, so a failing test's output is its own. TEST_LOG_LEVEL
 * (e.g. WARN, DEBUG) brings them back. Must run before the first worker or connection; a no-op
 * once a runtime is installed. The helpers that make workers call it, and so does
 * test/setup/sdk-logs.ts for every file that imported the worker package by itself.
 */
export function quietTemporalRuntime(): void {
  const level = (process.env.TEST_LOG_LEVEL ?? 'ERROR').toUpperCase() as LogLevel;
  try {
    Runtime.install({
      logger: new DefaultLogger(level, printUnlessExpected),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level }) } },
    });
  } catch {
    /* already installed in this process */
  }
}

/** SDK log lines a test provokes on purpose, by pattern: kept for the test to assert on, not printed. */
const expected: Array<{ pattern: RegExp; seen: string[] }> = [];

/** From now on in this file, SDK log lines matching `pattern` are collected into the returned list instead of printed. */
export function expectSdkLogs(pattern: RegExp): string[] {
  const seen: string[] = [];
  expected.push({ pattern, seen });
  return seen;
}

function printUnlessExpected(entry: LogEntry): void {
  const text = `${entry.message} ${inspect(entry.meta, { depth: 4 })}`;
  const hit = expected.find((e) => e.pattern.test(text));
  if (hit) {
    hit.seen.push(text);
    return;
  }
  const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  (entry.level === 'ERROR' ? console.error : console.warn)(`${at} [${entry.level}] ${entry.message}`, entry.meta ?? '');
}
