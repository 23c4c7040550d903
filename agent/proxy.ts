// Chooses an HTTP(S) proxy for the controller URL the way curl does: HTTPS_PROXY for wss/https,
// HTTP_PROXY for ws/http (falling back to HTTPS_PROXY), and NO_PROXY exceptions.
import type { Agent } from 'node:http';
import { HttpsProxyAgent } from 'https-proxy-agent';

export interface ProxyEnv {
  https?: string;
  http?: string;
  noProxy?: string;
}

export function proxyFor(target: URL, env: ProxyEnv): string | undefined {
  const secure = target.protocol === 'wss:' || target.protocol === 'https:';
  const proxy = secure ? env.https : (env.http ?? env.https);
  if (!proxy) return undefined;
  const host = target.hostname.toLowerCase();
  const port = target.port || (secure ? '443' : '80');
  for (const raw of (env.noProxy ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (raw === '*') return undefined;
    const [h, p] = raw.includes(':') && !raw.includes('::') ? raw.split(':') : [raw, undefined];
    if (p && p !== port) continue;
    const bare = (h ?? '').replace(/^\*?\./, '');
    if (host === bare || host.endsWith(`.${bare}`)) return undefined;
  }
  return proxy;
}

export function proxyAgentFor(target: URL, env: ProxyEnv): Agent | undefined {
  const p = proxyFor(target, env);
  return p ? new HttpsProxyAgent(p) : undefined;
}

