// The REST API as an Express 5 app (async handlers' rejections reach the error handler natively).
import express, { type NextFunction, type Request, type Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { AppError, invalid, toHttp } from '../lib/errors';
import type { ApiContext } from './context';
import { gatewayRoutes } from './gateways';
import { linkRoutes } from './links';
import { cloudAccountRoutes } from './cloud-accounts';

export function createApi(ctx: ApiContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.get('/api/health', (_req, res) => {
    res.json({ ok: true });
  });

  const api = express.Router();
  if (ctx.apiToken) api.use(bearerAuth(ctx.apiToken));
  api.use(express.json({ limit: '256kb' }));
  api.use('/gateways', gatewayRoutes(ctx));
  api.use('/links', linkRoutes(ctx));
  api.use('/cloud-accounts', cloudAccountRoutes(ctx));
  api.use((req, _res, next) => next(new AppError('not_found', `no route for ${req.method} ${req.baseUrl}${req.path}`)));
  app.use('/api', api);

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = isBodyParserError(err) ? invalid(`invalid request: body is not valid JSON (${err.message})`) : err;
    const { status, body } = toHttp(e);
    if (status >= 500) ctx.log.error('request failed', { method: req.method, path: req.originalUrl, err: e });
    res.status(status).json(body);
  });
  return app;
}

function bearerAuth(token: string) {
  const expected = Buffer.from(`Bearer ${token}`);
  return (req: Request, res: Response, next: NextFunction) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return next();
    res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: { code: 'unauthorized', message: 'missing or wrong API token' } });
  };
}

function isBodyParserError(err: unknown): err is Error & { type: string } {
  return err instanceof Error && typeof (err as { type?: unknown }).type === 'string' && 'status' in err;
}
