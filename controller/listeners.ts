// The controller's two listeners: the REST API and console (loopback by default), and the agents'
// WebSocket endpoint. Either serves HTTPS when given a certificate and key, re-read on reloadTls()
// (SIGHUP), so a renewed certificate needs no restart and live agent sockets stay up.
import http from 'node:http';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { urlHost } from '../lib/net';

export interface TlsFiles {
  /** PEM certificate chain. */
  certFile: string;
  /** PEM private key. */
  keyFile: string;
}

export interface Listener {
  server: http.Server;
  /** Base URL clients use (http(s)://host:port). */
  url: string;
  port: number;
  /** Re-reads the certificate and key; new handshakes use them, live connections keep theirs. */
  reloadTls(): Promise<void>;
  close(): Promise<void>;
}

export async function readTls(files: TlsFiles): Promise<{ cert: Buffer; key: Buffer }> {
  const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  return { cert, key };
}

export async function listen(options: {
  host: string;
  port: number;
  handler: http.RequestListener;
  tls?: TlsFiles;
  backlog?: number;
  /** Called with the server before it listens (attach upgrade handlers, set timeouts). */
  prepare?: (server: http.Server) => void;
}): Promise<Listener> {
  const server: http.Server = options.tls
    ? https.createServer({ ...(await readTls(options.tls)), minVersion: 'TLSv1.2' }, options.handler)
    : http.createServer(options.handler);
  server.keepAliveTimeout = 65_000;
  options.prepare?.(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host, ...(options.backlog ? { backlog: options.backlog } : {}) }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `${options.tls ? 'https' : 'http'}://${urlHost(options.host)}:${port}`,
    async reloadTls() {
      if (!options.tls) return;
      (server as https.Server).setSecureContext(await readTls(options.tls));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
