// GET /api/openapi.json and the Swagger UI page at GET /api/docs, from the local swagger-ui-dist
// files (no CDN). Both are public: the document is the same for every deployment and the page must
// open in a browser, which sends no bearer token; its Authorize button takes the token for the
// calls it makes. The page has no inline script (the CSP allows scripts from 'self' only): its
// initializer is a file of its own.
import { Router } from 'express';
import path from 'node:path';
import { clip, notFound } from '../lib/errors';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi/document';
import { DOCS_ASSETS } from './openapi/meta';

const SWAGGER_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>ipsec-mesh API</title>
    <link rel="stylesheet" href="/api/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png">
    <style>body { margin: 0; }</style>
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/api/docs/swagger-ui-bundle.js"></script>
    <script src="/api/docs/initializer.js"></script>
  </body>
</html>
`;

// The token typed into Authorize lives in the page only (persistAuthorization off): a reload forgets it.
const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: false,
    validatorUrl: null,
  });
});
`;

const isAsset = (file: string): file is keyof typeof DOCS_ASSETS => Object.hasOwn(DOCS_ASSETS, file);

export function docsRoutes(): Router {
  const r = Router();
  let document: OpenApiDocument | undefined;

  r.get('/openapi.json', (_req, res) => {
    document ??= buildOpenApiDocument();
    res.json(document);
  });

  r.get('/docs', (_req, res) => {
    res.type('html').send(PAGE);
  });

  r.get('/docs/:file', (req, res) => {
    const file = req.params.file;
    if (!isAsset(file)) throw notFound('docs file', clip(file));
    // Revalidated (ETag) rather than cached for good: the names carry no version.
    res.set('Cache-Control', 'no-cache');
    if (file === 'initializer.js') {
      res.type(DOCS_ASSETS[file]).send(INITIALIZER);
      return;
    }
    res.type(DOCS_ASSETS[file]).sendFile(path.join(SWAGGER_DIR, file));
  });

  return r;
}
