// The web console: Vite's build of web/ served under "/" on the API's listener. Hashed assets are
// cached for good; index.html is revalidated, so a rebuilt console reaches a browser on its next load.
// Any other GET that asks for HTML is the single-page app's own route (/links/…, /gateways), so
// it answers with index.html and the console's router takes over.
import express, { Router } from 'express';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const CONSOLE_DIST = path.resolve(__dirname, '../web/dist');

export function consoleRoutes(distDir: string = CONSOLE_DIST): Router {
  const r = Router();
  const index = path.join(distDir, 'index.html');
  r.use('/assets', express.static(path.join(distDir, 'assets'), { immutable: true, maxAge: '365d', index: false, fallthrough: false }));
  r.use(express.static(distDir, { index: false, maxAge: 0 }));
  r.get(/.*/, (req, res, next) => {
    if (!req.accepts('html')) return next();
    if (!existsSync(index)) {
      res.status(503).type('text/plain').send('The console is not built yet: run `npm run build:web` (npm start builds it), or use the REST API under /api.\n');
      return;
    }
    res.set('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return r;
}
