// The response checker: with API_CONTRACT_CHECK=1 (every test run sets it), each answer of /api is
// checked against the document's operation for its method, path and status — a JSON body against
// the response schema, any other answer against the documented media type — and a violation is
// logged and answered as a 500 instead, so whichever test exercised the route fails. Off, it is
// not installed at all.
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { ConfigError, envBool } from '../../lib/env';
import type { Logger } from '../../lib/log';
import { ApiError } from '../schemas/common';
import type { Answer, Method, Operation } from './operation';
import { withCommonErrors } from './operation';

export const CONTRACT_CHECK_ENV = 'API_CONTRACT_CHECK';

/** Whether the checker is on: "1"/"true" on, unset/"0"/"false" off, anything else a ConfigError. */
export function contractCheckEnabled(env: NodeJS.ProcessEnv): boolean {
  const given = env[CONTRACT_CHECK_ENV];
  if (given === undefined || given === '') return false;
  const parsed = envBool.safeParse(given);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n  ${CONTRACT_CHECK_ENV}: expected true, false, 1 or 0 (got "${given}")`);
  return parsed.data;
}

interface Compiled {
  op: Operation;
  method: Method;
  pattern: RegExp;
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Express's matching: case-insensitive, a parameter is one non-empty segment, a trailing slash allowed. */
function compile(op: Operation): Compiled {
  const source = op.path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : escape(segment)))
    .join('/');
  return { op: withCommonErrors(op), method: op.method, pattern: new RegExp(`^${source}/?$`, 'i') };
}

const mediaOf = (contentType: unknown): string | undefined => (typeof contentType === 'string' ? contentType.split(';')[0]!.trim().toLowerCase() : undefined);

function describeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 5).map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`);
  return `${shown.join('; ')}${error.issues.length > 5 ? `; and ${error.issues.length - 5} more` : ''}`;
}

/** What is wrong with a JSON answer, or undefined. */
export function jsonViolation(route: string, op: Operation | undefined, status: number, body: unknown): string | undefined {
  // What goes on the wire (dates as text, undefined members dropped), not the object handed over.
  const wire: unknown = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
  if (!op) {
    if (status < 400) return `${route} answered ${status} but has no operation in the API document`;
    const checked = ApiError.safeParse(wire);
    return checked.success ? undefined : `${route} answered ${status} with a body that is not the error shape: ${describeIssues(checked.error)}`;
  }
  const answer = op.responses[status];
  if (!answer) return `${route} answered ${status}, which the document does not list for ${op.method.toUpperCase()} ${op.path}`;
  if (!answer.json) return `${route} answered ${status} with JSON; the document says ${answer.media ? Object.keys(answer.media).join(' or ') : 'no body'}`;
  const checked = answer.json.safeParse(wire);
  return checked.success ? undefined : `${route} answered ${status} with a body the document does not allow: ${describeIssues(checked.error)}`;
}

/** What is wrong with an answer that is not JSON (a page, a file, a stream, no body), or undefined. */
export function otherViolation(route: string, op: Operation | undefined, status: number, media: string | undefined, head: boolean): string | undefined {
  if (status === 304) return undefined;
  if (!op) return `${route} answered ${status} (${media ?? 'no body'}) but has no operation in the API document`;
  const answer: Answer | undefined = op.responses[status];
  if (!answer) return `${route} answered ${status}, which the document does not list for ${op.method.toUpperCase()} ${op.path}`;
  const documented = answer.json ? ['application/json'] : Object.keys(answer.media ?? {});
  if (media === undefined) return documented.length === 0 || head ? undefined : `${route} answered ${status} without a body; the document says ${documented.join(' or ')}`;
  return documented.includes(media) ? undefined : `${route} answered ${status} with ${media}; the document says ${documented.join(' or ') || 'no body'}`;
}

/** The middleware, mounted at /api before anything else answers there. */
export function contractCheck(operations: readonly Operation[], log: Logger) {
  const compiled = operations.map(compile);
  const find = (method: string, path: string): Operation | undefined => {
    const wanted = method === 'HEAD' ? 'get' : method.toLowerCase();
    return compiled.find((c) => c.method === wanted && c.pattern.test(path))?.op;
  };

  return function contractChecker(req: Request, res: Response, next: NextFunction): void {
    // The router answers OPTIONS by itself (an Allow header): not part of the contract.
    if (req.method === 'OPTIONS') return next();
    const path = req.originalUrl.split('?')[0]!;
    const route = `${req.method} ${path.length > 120 ? `${path.slice(0, 120)}…` : path}`;
    const op = find(req.method, path);
    // The originals, bound: Express's own calls (json → send → end → writeHead) go through the wrappers.
    const json = res.json.bind(res);
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => Response;
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => Response;
    let checked = false;

    const violated = (problem: string): void => {
      log.error('API contract violation', { problem });
      // Test loggers are often silent: the violation must still be seen where the test ran.
      process.stderr.write(`API contract violation: ${problem}\n`);
    };
    const violationBody = (problem: string) => ({ error: { code: 'internal' as const, message: `contract violation: ${problem}` } });
    /** Answers the violation in place of what the handler meant to send, which is then dropped. */
    const answerInstead = (problem: string): void => {
      violated(problem);
      const text = JSON.stringify(violationBody(problem));
      for (const name of res.getHeaderNames()) if (name.startsWith('content-') || name === 'etag' || name === 'last-modified') res.removeHeader(name);
      res.write = (() => true) as typeof res.write;
      res.end = (() => res) as typeof res.end;
      writeHead(500, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
      end(text);
    };
    /** First bytes of a non-JSON answer: checked before they leave. */
    const checkOther = (): boolean => {
      if (checked) return true;
      checked = true;
      const problem = otherViolation(route, op, res.statusCode, mediaOf(res.getHeader('content-type')), req.method === 'HEAD');
      if (!problem) return true;
      if (res.headersSent) {
        violated(problem);
        return true;
      }
      answerInstead(problem);
      return false;
    };

    res.json = (body: unknown) => {
      if (checked) return json(body);
      checked = true;
      const problem = jsonViolation(route, op, res.statusCode, body);
      if (!problem) return json(body);
      violated(problem);
      res.status(500);
      return json(violationBody(problem));
    };
    res.write = ((...args: unknown[]) => (checkOther() ? write(...args) : true)) as typeof res.write;
    res.end = ((...args: unknown[]) => (checkOther() ? end(...args) : res)) as typeof res.end;
    // A stream that sends its header before any byte (Server-Sent Events): checked there.
    res.writeHead = ((...args: unknown[]) => {
      if (checked) return writeHead(...args);
      const [status, ...rest] = args;
      const headers = rest.find((arg): arg is Record<string, unknown> => typeof arg === 'object' && arg !== null && !Array.isArray(arg));
      const type = headers ? Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-type')?.[1] : undefined;
      checked = true;
      const problem = otherViolation(route, op, Number(status), mediaOf(type ?? res.getHeader('content-type')), req.method === 'HEAD');
      if (!problem) return writeHead(...args);
      answerInstead(problem);
      return res;
    }) as typeof res.writeHead;
    next();
  };
}
