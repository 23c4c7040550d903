// POST /agent/enrol: an agent trades a one-time enrolment token for its secret. The token is spent
// and the new secret's hash stored in one transaction (PresenceStore.redeemEnrolment); refusals
// count as failed authentications of the source, like wrong secrets on the upgrade.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hashSecret, randomToken } from '../lib/crypto';
import type { Logger } from '../lib/log';
import { parseEnrolHeader, type EnrolAnswer } from '../protocol/messages';
import { asGatewayId } from '../protocol/ids';
import { retryAfterSeconds, type AuthFailureLimiter } from '../lib/auth-limiter';
import type { LogSampler } from './log-sampler';
import type { PresenceStore } from './presence';
import { errorBody, sendJson } from './replies';
import { limitKey } from '../lib/net';
import type { HubMetrics } from '../lib/metrics';

/** The request needs no body; anything bigger than this is not an agent's. */
export const MAX_ENROL_BODY_BYTES = 1024;

export interface EnrolDeps {
  store: PresenceStore;
  limiter: AuthFailureLimiter;
  sampler: LogSampler;
  log: Logger;
  metrics?: HubMetrics;
}

export async function serveEnrolment(req: IncomingMessage, res: ServerResponse, deps: EnrolDeps): Promise<void> {
  const source = limitKey(req.socket.remoteAddress);
  const waitMs = await deps.limiter.blockedFor(source);
  if (waitMs > 0) {
    deps.metrics?.authFailures.enrolment_blocked.inc();
    deps.sampler.warn(source, 'agent refused: too many failed authentications', { from: source, path: 'enrol' });
    return sendJson(res, 429, errorBody('too_many_failures', 'too many failed authentications from this address; retry later'), { 'retry-after': retryAfterSeconds(waitMs) });
  }
  if (!(await bodyWithin(req, MAX_ENROL_BODY_BYTES))) {
    return sendJson(res, 413, errorBody('too_large', `an enrolment request has no body (at most ${MAX_ENROL_BODY_BYTES} bytes)`));
  }
  const refuse = (reason: string, gatewayId?: string): void => {
    deps.limiter.failed(source);
    deps.metrics?.authFailures.enrolment_refused.inc();
    deps.sampler.warn(source, 'enrolment refused', { from: source, reason, ...(gatewayId ? { gatewayId } : {}) });
    sendJson(res, 401, errorBody('unauthorized', 'enrolment token invalid, expired or already used'));
  };
  const credentials = parseEnrolHeader(req.headers.authorization);
  if (!credentials) return refuse('malformed credentials');
  const gatewayId = asGatewayId(credentials.gatewayId);
  const secret = randomToken();
  // Invalid, expired, used and someone else's tokens are one answer: nothing to learn from it.
  if (!(await deps.store.redeemEnrolment(gatewayId, hashSecret(credentials.token), hashSecret(secret), new Date()))) return refuse('token not redeemable', gatewayId);
  deps.log.info('agent enrolled; its gateway has a new secret', { gatewayId, from: source });
  const answer: EnrolAnswer = { gatewayId, secret };
  sendJson(res, 200, answer, { 'cache-control': 'no-store' });
}

/** Reads (and discards) the body; false as soon as it exceeds `limit` bytes. */
function bodyWithin(req: IncomingMessage, limit: number): Promise<boolean> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve(false);
  return new Promise((resolve) => {
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return;
      req.off('data', onData);
      req.pause();
      resolve(false);
    };
    req.on('data', onData);
    req.once('end', () => resolve(true));
    // A client gone before the end of its body gets no answer either way.
    req.once('error', () => resolve(false));
    req.once('close', () => resolve(false));
  });
}
