// Answers on the agent listener: HTTP status lines written straight to a socket that asked for an
// upgrade (no ServerResponse exists for it), and small JSON answers to plain requests.
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Answers an upgrade request with `status` and closes the socket once the answer is flushed.
 * Ending alone is not enough: the listener allows half-open sockets, so a client that never
 * closes its side would keep the socket (and its file descriptor) forever.
 */
export function refuseUpgrade(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${extra}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}

/** A JSON answer that also ends the connection (an agent makes one request and goes). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close', ...headers }).end(JSON.stringify(body));
}

export const errorBody = (code: string, message: string) => ({ error: { code, message } });
