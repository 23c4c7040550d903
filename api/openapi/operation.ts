// One API operation as the contract states it: the same record feeds the OpenAPI document
// (document.ts) and the response checker (contract-check.ts), so what is documented is what is
// checked. Paths are written the Express way ("/api/links/:id").
import type { z } from 'zod';
import { ApiError } from '../schemas/common';

export type Method = 'get' | 'post' | 'patch' | 'delete';

export interface Answer {
  description: string;
  /** The JSON body; absent with `media` for other content types, or with neither for no body. */
  json?: z.ZodType;
  /** A non-JSON answer: its media types (without parameters such as charset), each with its schema. */
  media?: Record<string, z.ZodType>;
  /** A generic error answer: documented once, under components/responses/<name>. */
  shared?: string;
}

export interface Operation {
  method: Method;
  path: string;
  tag: string;
  summary: string;
  description?: string;
  /** Answered without the API token (it shows nothing about the network and changes nothing). */
  public?: boolean;
  query?: z.ZodObject;
  /** Request headers the operation reads (beyond Authorization and Content-Type). */
  headers?: z.ZodObject;
  /** The schema the handler's parseBody validates with; `optional`: no body at all is fine too. */
  body?: { schema: z.ZodType; optional?: boolean };
  responses: Partial<Record<number, Answer>>;
}

/** The generic error answers: a name (its components/responses entry) and what it means. */
export const GENERIC_ERRORS: Readonly<Record<number, { name: string; description: string }>> = {
  400: { name: 'BadRequest', description: 'Invalid request: the message and details.fields name every bad field' },
  401: { name: 'Unauthorized', description: 'Code `unauthorized`: a missing, wrong, expired or revoked token (the message says which); WWW-Authenticate: Bearer' },
  403: { name: 'Forbidden', description: 'Code `forbidden`: the token\'s role may not do this (the message names the roles that may; details.role, details.allowedRoles), or the Host header is not one of API_ALLOWED_HOSTS' },
  404: { name: 'NotFound', description: 'No such resource (details.id)' },
  409: { name: 'Conflict', description: 'Conflict with the current state: the message names what it clashes with' },
  413: { name: 'TooLarge', description: 'Request body larger than 256 kB' },
  415: { name: 'UnsupportedMediaType', description: 'Request body not JSON (send content-type application/json)' },
  429: { name: 'RateLimited', description: 'Too many failed authentications from this address: see Retry-After' },
  500: { name: 'Internal', description: 'Internal error (logged by the controller; no details)' },
  503: { name: 'Unavailable', description: 'A service the controller needs (the workflow service, the database) is unreachable or busy; nothing was changed, try again' },
};

/** Error answers, each with the one error body; one given with a description says what it means here. */
export function errors(...statuses: Array<number | [number, string]>): Partial<Record<number, Answer>> {
  return Object.fromEntries(
    statuses.map((entry) => {
      if (Array.isArray(entry)) return [entry[0], { description: entry[1], json: ApiError }];
      const generic = GENERIC_ERRORS[entry];
      if (!generic) throw new Error(`no generic error answer for status ${entry}: give it a description`);
      return [entry, { description: generic.description, json: ApiError, shared: generic.name }];
    }),
  );
}

/** What can go wrong with any request: a malformed path, the Host check, the server itself. */
const ANY = [400, 403, 500] as const;
/** Behind the bearer token; these all use the database, which can be too busy to answer (503). */
const AUTHENTICATED = [401, 429, 503] as const;
/** With a request body (read, decompressed and parsed before the handler). */
const WITH_BODY = [413, 415] as const;

/** The answers every operation can give besides its own; theirs win (a more specific description). */
export function withCommonErrors(op: Operation): Operation {
  const common = [...ANY, ...(op.public ? [] : AUTHENTICATED), ...(op.body ? WITH_BODY : [])];
  return { ...op, responses: { ...errors(...common), ...op.responses } };
}

/** "/api/links/:id" → "/api/links/{id}". */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** The names of a path's parameters, in order. */
export const pathParams = (path: string): string[] => [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
