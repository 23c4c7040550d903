// How the agent reaches a controller, for the WebSocket and the enrolment request alike: through
// the proxy the environment names, with the controller's certificate checked the same way.
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Agent } from 'node:http';
import type { PeerCertificate } from 'node:tls';
import { isLoopbackHost } from '../lib/net';
import { proxyAgentFor, type ProxyEnv } from './proxy';
import { controllerIdentityCheck, type ControllerTrust } from './tls';

export interface ConnectOptions {
  agent?: Agent;
  ca?: string;
  rejectUnauthorized?: boolean;
  checkServerIdentity?: (presented: string, cert: PeerCertificate) => Error | undefined;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers larger than this are not the controller's (an enrolment answer is ~150 bytes). */
const MAX_ANSWER_BYTES = 64 * 1024;

export class ControllerTransport {
  constructor(
    private readonly trust: ControllerTrust,
    private readonly proxy: ProxyEnv,
  ) {}

  /**
   * Options for a connection to `target` (ws(s) or http(s)). https-proxy-agent hands these TLS
   * options on to the handshake it does inside the CONNECT tunnel, so a proxy changes nothing.
   */
  options(target: URL): ConnectOptions {
    const agent = proxyAgentFor(target, this.proxy);
    if (!isSecure(target)) return agent ? { agent } : {};
    return {
      ...(agent ? { agent } : {}),
      ...(this.trust.ca ? { ca: this.trust.ca } : {}),
      rejectUnauthorized: true,
      checkServerIdentity: controllerIdentityCheck(target.hostname, this.trust.pins),
    };
  }

  /** One POST without a body; resolves with any HTTP answer, rejects on network and TLS errors. */
  post(target: URL, headers: Record<string, string>, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<HttpAnswer> {
    const connect = this.options(target);
    return new Promise<HttpAnswer>((resolve, reject) => {
      const req = (isSecure(target) ? https : http).request(target, {
        ...connect,
        // No shared agent: a pooled TLS session would be resumed without checkServerIdentity.
        agent: connect.agent ?? false,
        method: 'POST',
        headers: { ...headers, 'content-length': '0' },
        timeout: opts.timeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${target.host} within ${opts.timeoutMs} ms`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`answer from ${target.host} is larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.end();
    });
  }
}

function isSecure(target: URL): boolean {
  return target.protocol === 'https:' || target.protocol === 'wss:';
}

/** A ws:// or http:// URL whose host is not this machine: what travels on it can be read on the way. */
export function isCleartextOffLoopback(target: URL): boolean {
  return !isSecure(target) && !isLoopbackHost(target.hostname);
}
