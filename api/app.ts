// The REST API as an Express 5 app (async handlers' rejections reach the error handler natively).
// Order matters: security headers, then the Host check, before anything reads the request.
import express from 'express';
import { AppError, clip } from '../lib/errors';
import type { ApiContext, ApiOptions } from './context';
import { createStore } from '../store';
import { authenticate, requireAccess, TokenAuthority } from './auth';
import { tokenRoutes, whoamiRoute } from './tokens';
import { auditRoutes, auditTrail } from './audit';
import { requestIds } from './request-id';
import { jsonBody } from './body';
import { errorHandler } from './http-errors';
import { hostGuard } from './host-guard';
import { securityHeaders } from './security-headers';
import { gatewayRoutes } from './gateways';
import { linkRoutes } from './links';
import { cloudAccountRoutes } from './cloud-accounts';
import { consoleRoutes } from './console';
import { eventRoutes } from './events';
import { docsRoutes } from './docs';
import { apiOperations } from './openapi/operations';
import { contractCheck, contractCheckEnabled } from './openapi/contract-check';
import { metricsRoute } from '../controller/metrics';
import { HealthProbe, serveHealthz } from './health';


export function createApi(options: ApiOptions): express.Express {
  const { db, ...rest } = options;
  const ctx: ApiContext = { ...rest, store: createStore(db) };
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(securityHeaders());
  app.use(requestIds());
  // Readiness (api/health.ts) comes before the Host check: probes address a pod by its IP, which
  // API_ALLOWED_HOSTS need not list, and it answers nothing but "ok" or which check failed.
  const health = ctx.health ?? new HealthProbe({ database: () => db.$queryRawUnsafe('SELECT 1') }, ctx.log);
  app.use((req, res, next) => {
    if (!serveHealthz(health, req, res)) next();
  });
  // Tests run with API_CONTRACT_CHECK=1: every answer of /api is checked against the OpenAPI document.
  if (contractCheckEnabled(process.env)) app.use('/api', contractCheck(apiOperations, ctx.log));
  app.use(hostGuard(ctx.allowedHosts));

  app.get('/api/health', (_req, res) => {
    res.json({ ok: true });
  });

  const api = express.Router();
  // Answers carry one-time secrets (agent secrets, enrolment tokens): no cache may keep them.
  api.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  // The document and its docs page are public (see docs.ts); everything after this needs a token
  // (auth.ts says when an open loopback controller needs none) and the role roles.ts names.
  api.use(docsRoutes());
  const authority = new TokenAuthority(ctx.store.tokens, ctx.log, ctx.clock);
  // The audit trail sits between the two: a call refused for its role is recorded too.
  api.use(authenticate({ sharedToken: ctx.apiToken, authority, log: ctx.log, limit: ctx.authFailureLimit }), auditTrail(ctx.store.audit, ctx.log, ctx.clock), requireAccess());
  api.use(...jsonBody());
  api.use('/gateways', gatewayRoutes(ctx));
  api.use('/links', linkRoutes(ctx));
  api.use('/cloud-accounts', cloudAccountRoutes(ctx));
  api.use('/events', eventRoutes(ctx));
  api.use('/tokens', tokenRoutes(ctx, authority));
  api.use('/audit', auditRoutes(ctx));
  api.use(whoamiRoute());
  api.use((req, _res, next) => next(new AppError('not_found', `no route for ${req.method} ${clip(`${req.baseUrl}${req.path}`, 120)}`)));
  app.use('/api', api);
  // Prometheus: GET /metrics, behind any valid token when /api asks for one (controller/metrics.ts).
  app.use(metricsRoute({ ...ctx, authority }));
  app.use(consoleRoutes(ctx.consoleDir));

  app.use(errorHandler(ctx.log));
  return app;
}
