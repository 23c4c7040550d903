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
  /** The schema the handler's parseBody validates with; `optional`: no body at all is fine too. */
  body?: { schema: z.ZodType; optional?: boolean };
  responses: Partial<Record<number, Answer>>;
}

const WHY: Record<number, string> = {
  400: 'Invalid request: the message and details.fields name every bad field',
  401: 'Missing or wrong API token (when the controller has API_TOKEN set)',
  403: 'The Host header is not one of API_ALLOWED_HOSTS',
  404: 'No such resource (details.id)',
  409: 'Conflict with the current state: the message names what it clashes with',
  413: 'Request body larger than 256 kB',
  415: 'Request body not JSON (send content-type application/json)',
  429: 'Too many failed authentications from this address: see Retry-After',
  500: 'Internal error (logged by the controller; no details)',
  503: 'The workflow service is unreachable; nothing was changed, try again',
};

/** Error answers, each with the one error body; a description overrides the generic one. */
export function errors(...statuses: Array<number | [number, string]>): Partial<Record<number, Answer>> {
  return Object.fromEntries(
    statuses.map((entry) => {
      const [status, description] = Array.isArray(entry) ? entry : [entry, WHY[entry] ?? 'Error'];
      return [status, { description, json: ApiError }];
    }),
  );
}

/** What can go wrong with any request: a malformed path, the Host check, the server itself. */
const ANY = [400, 403, 500] as const;
/** Behind the bearer token. */
const AUTHENTICATED = [401, 429] as const;
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
