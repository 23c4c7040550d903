// The contract of the API's own endpoints: health, the OpenAPI document and its Swagger UI page.
import { z } from 'zod';
import { errors, type Operation } from './operation';

const tag = 'meta';

export const Health = z.strictObject({ ok: z.literal(true) }).meta({ id: 'Health' });

/** The document itself, as far as a client relies on it. */
export const OpenApiDocumentShape = z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) });

/** The Swagger UI files served beside the page (docs.ts), and our initializer. */
export const DOCS_ASSETS = {
  'swagger-ui.css': 'text/css',
  'swagger-ui-bundle.js': 'application/javascript',
  'favicon-32x32.png': 'image/png',
  'initializer.js': 'application/javascript',
} as const;

export const metaOperations: Operation[] = [
  { method: 'get', path: '/api/health', tag, public: true, summary: 'Liveness', responses: { 200: { description: 'The API answers', json: Health } } },
  {
    method: 'get',
    path: '/api/openapi.json',
    tag,
    public: true,
    summary: 'This document',
    description: 'Public: it describes the API, the same for every deployment, and shows nothing about the network.',
    responses: { 200: { description: 'The OpenAPI 3.1 document', json: OpenApiDocumentShape } },
  },
  {
    method: 'get',
    path: '/api/docs',
    tag,
    public: true,
    summary: 'Swagger UI',
    description: 'Public, so a browser can open it; its Authorize button takes the API token for the calls it makes.',
    responses: { 200: { description: 'The page', media: { 'text/html': z.string() } } },
  },
  {
    method: 'get',
    path: '/api/docs/:file',
    tag,
    public: true,
    summary: 'A file of the Swagger UI page',
    responses: {
      200: {
        description: 'The file',
        media: Object.fromEntries([...new Set(Object.values(DOCS_ASSETS))].map((type) => [type, z.string()])),
      },
      ...errors([404, 'Not a file of the page']),
    },
  },
];
