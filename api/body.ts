// Request bodies: JSON only (anything else with a body is a 415), read up to a limit, decompressed
// within that same limit, and well-formed Unicode throughout.
import express, { type NextFunction, type Request, type Response } from 'express';
import { invalid, unsupported } from '../lib/errors';

export const BODY_LIMIT_BYTES = 256 * 1024;
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** A request carries a body when it is chunked or has a non-zero length ("content-length: 0" is none). */
function carriesBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(req.headers['content-length'] ?? 0);
  return !Number.isFinite(length) || length > 0;
}

/**
 * Refuses a body of another type up front: left alone, the JSON parser would skip it and the
 * handler would read an empty body, refusing it for the wrong reason or acting on defaults.
 */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  if (!WITH_BODY.has(req.method) || !carriesBody(req) || req.is('application/json')) return next();
  const given = req.headers['content-type'];
  const shown = given ? `"${given.length > 60 ? `${given.slice(0, 60)}…` : given}"` : 'none';
  next(unsupported(`request body must be JSON: send content-type application/json (got ${shown})`));
}

/** A lone UTF-16 surrogate: valid in a JSON escape ("\\ud800"), but no character, and the database client cannot carry it. */
const LONE_SURROGATE = /\p{Cs}/u;

/** True when every key and string in a parsed body is well-formed Unicode (iterative: bodies nest deep). */
function wellFormed(body: unknown): boolean {
  const pending: unknown[] = [body];
  while (pending.length) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return false;
    } else if (Array.isArray(value)) {
      // One by one: spreading a 100,000-element array into push() would overflow the call stack.
      for (const item of value as unknown[]) pending.push(item);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, member] of Object.entries(value)) {
        if (LONE_SURROGATE.test(key)) return false;
        pending.push(member);
      }
    }
  }
  return true;
}

/** Refuses a body the database could not store, before any handler passes its strings on. */
function requireUnicode(req: Request, _res: Response, next: NextFunction): void {
  if (req.body === undefined || wellFormed(req.body)) return next();
  next(invalid('invalid request: the body holds a string that is not valid Unicode (a lone surrogate such as \\ud800)'));
}

/** The middleware every /api route gets after authentication. */
export const jsonBody = () => [requireJson, express.json({ limit: BODY_LIMIT_BYTES, strict: true }), requireUnicode];
