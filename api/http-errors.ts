// The API's last middleware: errors thrown by Express itself and by body parsing (http-errors
// objects, a bad percent-encoding) become the error vocabulary, and every answer goes through toHttp().
import { requestIdOf } from './request-id';
import type { NextFunction, Request, Response } from 'express';
import { AppError, clip, invalid, toHttp, tooLarge, unsupported } from '../lib/errors';
import type { Logger } from '../lib/log';

/** What body-parser and router attach to the errors they raise (http-errors, or a URIError with a status). */
interface FrameworkError extends Error {
  status: number;
  type?: string;
  charset?: string;
  encoding?: string;
  limit?: number;
}


function isFrameworkError(err: unknown): err is FrameworkError {
  if (!(err instanceof Error) || err instanceof AppError) return false;
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Names the client's mistake without echoing the framework's wording; anything not recognised keeps
 * the status it came with (always a 4xx here), shown as the nearest kind.
 */
export function translate(err: unknown, req: Request): unknown {
  if (!isFrameworkError(err)) return err;
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (err instanceof URIError) return invalid('invalid request: the path has malformed percent-encoding');
  switch (err.type) {
    case 'entity.too.large':
      return tooLarge(`request body is larger than ${formatBytes(err.limit)}`);
    case 'charset.unsupported':
      return unsupported(`unsupported charset "${clip(String(err.charset ?? ''))}": send JSON as UTF-8`);
    case 'encoding.unsupported':
      return unsupported(`unsupported content encoding "${clip(String(err.encoding ?? encoding))}": send gzip, deflate, br or none`);
    case 'entity.parse.failed':
      return invalid(`invalid request: body is not valid JSON (${clip(err.message, 200)})`);
    case 'request.aborted':
      return invalid('invalid request: the body ended early');
    case 'request.size.invalid':
      return invalid('invalid request: the body is not as long as its content-length');
  }
  // A decompression stream's error reaches here without a type (corrupt gzip, deflate or br).
  if (err.status === 400 && encoding !== 'identity') return invalid(`invalid request: the body could not be decompressed (content-encoding ${clip(encoding)})`);
  if (err.status === 413) return tooLarge('request body is too large');
  if (err.status === 415) return unsupported('unsupported request body');
  return invalid('invalid request');
}

function formatBytes(bytes: number | undefined): string {
  if (!bytes) return 'the limit';
  return bytes % 1024 === 0 ? `${bytes / 1024} kB` : `${bytes} bytes`;
}

/** Express error handler: one shape for every error; only unknown (500) errors are logged, here and once. */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const translated = translate(err, req);
    const { status, body, headers } = toHttp(translated);
    // Errors with a kind were chosen by a handler (which logged any cause it had); an unknown one
    // is a bug or an outage, logged with its message, which the client never sees.
    if (status === 500) {
      log.error('request failed', { method: req.method, path: clip(req.originalUrl, 200), requestId: requestIdOf(res), err: translated });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(status).set(headers).json(body);
  };
}
