// The controller's agent-facing URLs, from a base URL given as http(s) or ws(s).
import { ENROL_PATH } from '../protocol/messages';

/** ws(s) URL of the agent endpoint for a controller base URL given as http(s) or ws(s). */
export function agentEndpoint(base: string, path: string): URL {
  return withPath(base, path, { 'http:': 'ws:', 'https:': 'wss:' });
}

/** http(s) URL of the enrolment endpoint for a controller base URL given as http(s) or ws(s). */
export function enrolEndpoint(base: string): URL {
  return withPath(base, ENROL_PATH, { 'ws:': 'http:', 'wss:': 'https:' });
}

function withPath(base: string, path: string, schemes: Record<string, string>): URL {
  const url = new URL(base);
  const scheme = schemes[url.protocol];
  if (scheme) url.protocol = scheme;
  url.pathname = url.pathname.replace(/\/+$/, '') + path;
  return url;
}
