// Structured logs through pino: JSON lines (info and below on stdout, warn and error on stderr),
// every line with the current request id (lib/request-context.ts), and secrets redacted by the
// logger's configuration, whatever a caller passes. Callers still pass fields, never secrets.
import pino, { type DestinationStream } from 'pino';
import { currentRequestId } from './request-context';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: Level;
  base?: Record<string, unknown>;
  /** One short human line per record instead of JSON (LOG_PRETTY, for a terminal). */
  pretty?: boolean;
  /** Where lines go instead of stdout/stderr (tests). */
  destination?: DestinationStream;
}

/**
 * Field names whose values are secrets wherever they appear: PSKs, agent and API tokens, cloud keys,
 * the controller's keys, authorisation headers. Matched at the top level and two levels down
 * (pino's redaction paths take one `*` per level). Keys name values, not containers of other
 * listed keys: redaction works in place and restores afterwards, and nested matches (e.g. a
 * `credentials` object holding `accessKeySecret`) were measured to leave the caller's object changed.
 */
export const REDACTED_KEYS = [
  'psk',
  'secret',
  'agentSecret',
  'token',
  'apiToken',
  'password',
  'authorization',
  'cookie',
  'accessKeySecret',
  'secretAccessKey',
  'sessionToken',
  'secretKey',
  'payloadKey',
  'privateKey',
  'enrolmentToken',
];
const REDACT_PATHS = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
export const REDACTED = '[redacted]';

export function createLogger(opts: LoggerOptions = {}): Logger {
  const destination = opts.destination ?? (opts.pretty ? prettyStreams() : splitStreams());
  const root = pino(
    {
      level: opts.level ?? 'info',
      base: opts.base ?? {},
      messageKey: 'msg',
      timestamp: () => `,"t":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      // Every line written while a request (or an activity it caused) runs names it.
      mixin: () => {
        const requestId = currentRequestId();
        return requestId === undefined ? {} : { requestId };
      },
    },
    destination,
  );
  return wrap(root);
}

function wrap(p: pino.Logger): Logger {
  return {
    debug: (msg, fields) => p.debug(plain(fields), msg),
    info: (msg, fields) => p.info(plain(fields), msg),
    warn: (msg, fields) => p.warn(plain(fields), msg),
    error: (msg, fields) => p.error(plain(fields), msg),
    child: (fields) => wrap(p.child(plain(fields))),
  };
}

/** Errors anywhere in the top-level fields become their name and message (JSON would give {}). */
function plain(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!fields) return {};
  let out: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(fields)) {
    if (value instanceof Error) {
      out ??= { ...fields };
      out[key] = { name: value.name, message: value.message };
    }
  }
  return out ?? fields;
}

/** warn and error on stderr, the rest on stdout (each line to one stream only). */
function splitStreams(): DestinationStream {
  return pino.multistream(
    [
      { level: 'debug', stream: process.stdout },
      { level: 'warn', stream: process.stderr },
    ],
    { dedupe: true },
  );
}

/** LOG_PRETTY: `HH:MM:SS.mmm level message key=value…`, on the same streams. */
function prettyStreams(): DestinationStream {
  return {
    write(line: string) {
      const { t, level, msg, ...fields } = JSON.parse(line) as Record<string, unknown> & { t: string; level: string; msg: string };
      const text = `${String(t).slice(11, 23)} ${String(level).padEnd(5)} ${msg} ${Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ')}\n`;
      (level === 'warn' || level === 'error' ? process.stderr : process.stdout).write(text);
    },
  };
}

/** A logger for tests and benchmarks: errors only. */
export const silentLogger: Logger = createLogger({ level: 'error', base: {} });
