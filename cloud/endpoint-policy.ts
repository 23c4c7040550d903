// Which API endpoints a cloud account may point at. Signed requests carry the account's key id and
// session token, and the endpoint's answers reach users, so an override must name the provider (its
// own domains, built in) or a host the controller's operator allowed (CLOUD_ENDPOINT_ALLOW: private
// endpoints, emulators in tests); never one the API caller picked, never a metadata service.
//
// Entry syntax: [http://|https://]host-pattern[:port|:*]
//   host-pattern  an exact host name or IP (IPv6 in brackets), or *.domain: any subdomain at any
//                 depth, not the domain itself; *.domain needs at least two labels (no "*.com").
//   scheme        https unless the entry says http:// (the only way to allow plain http).
//   port          the scheme's default port (443) unless given; ":*" allows any port.
// Built in: *.aliyuncs.com, *.amazonaws.com, *.amazonaws.com.cn, *.api.aws (https, port 443).
// Always refused: user info, a path other than "/", a query or fragment, white space, backslashes,
// schemes other than http(s), and link-local or metadata addresses (169.254.0.0/16, fe80::/10,
// fd00:ec2::/64, 100.100.100.200), also as allow-list entries. Hosts are compared after WHATWG URL
// normalisation (lower case, IDNA, numeric IPv4 forms, trailing dot stripped); names are never
// resolved, so 127.0.0.1.nip.io is not 127.0.0.1.
import { BlockList, isIP } from 'node:net';
import type { CloudEndpoints } from './types';

export const BUILTIN_ENDPOINT_ALLOW: readonly string[] = ['*.aliyuncs.com', '*.amazonaws.com', '*.amazonaws.com.cn', '*.api.aws'];

/** The endpoint keys an account may carry (aliyun: vpc, ecs; aws: ec2). */
export const ENDPOINT_KEYS = ['vpc', 'ecs', 'ec2'] as const;

/** A CLOUD_ENDPOINT_ALLOW entry the controller cannot use: a configuration error, found at start. */
export class AllowListError extends Error {
  override name = 'AllowListError';
}

export type EndpointCheck = { ok: true; endpoint: string } | { ok: false; reason: string };

export type EndpointsCheck = { ok: true; endpoints: CloudEndpoints } | { ok: false; field: string; reason: string };

export interface EndpointPolicy {
  /** One endpoint URL: its normalised form (scheme://host[:port]) when allowed, else why not. */
  check(value: unknown): EndpointCheck;
  /** A whole endpoints object as stored or posted: every key known, every value allowed. */
  checkEndpoints(value: unknown): EndpointsCheck;
}

interface Rule {
  scheme: 'http:' | 'https:';
  host: string;
  wildcard: boolean;
  /** Any port; else exactly `port`, as URL.port shows it ('' = the scheme's default). */
  anyPort: boolean;
  port: string;
}

// Instance-local services: requests there would be answered by (and credentials leak to) whatever
// runs the controller. AWS IMDS, ECS task metadata and most clouds use 169.254.0.0/16; AWS's IPv6
// IMDS, DNS and NTP live in fd00:ec2::/64; Alibaba Cloud's metadata is 100.100.100.200.
const metadataAddresses = new BlockList();
metadataAddresses.addSubnet('169.254.0.0', 16, 'ipv4');
metadataAddresses.addAddress('100.100.100.200', 'ipv4');
metadataAddresses.addSubnet('fe80::', 10, 'ipv6');
metadataAddresses.addSubnet('fd00:ec2::', 64, 'ipv6');
// NAT64 spellings of 169.254.0.0/16 (IPv4-mapped forms are covered by the IPv4 rules).
metadataAddresses.addSubnet('64:ff9b::a9fe:0', 112, 'ipv6');

function isMetadataAddress(host: string): boolean {
  const ip = host.startsWith('[') ? host.slice(1, -1) : host;
  const family = isIP(ip);
  return family !== 0 && metadataAddresses.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

const defaultPort = (scheme: Rule['scheme']): string => (scheme === 'https:' ? '443' : '80');

/** The host as the connection will use it: WHATWG-normalised, one trailing dot stripped. */
function normaliseHost(hostname: string): string | undefined {
  const host = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  if (!host || (!host.startsWith('[') && host.split('.').some((label) => label === ''))) return undefined;
  return host;
}

function parseEntry(entry: string): Rule {
  const fail = (why: string) =>
    new AllowListError(`CLOUD_ENDPOINT_ALLOW entry "${entry}": ${why} (expected [http://|https://]host[:port|:*], host an exact name or IP, or *.domain)`);
  const m = /^(?:(https?):\/\/)?(\*\.)?(\[[0-9A-Fa-f:.]+\]|[^\s/?#@\\:[\]*]+)(?::(\d{1,5}|\*))?$/.exec(entry.trim());
  if (!m) throw fail('not a host pattern');
  const scheme = m[1] === 'http' ? 'http:' : 'https:';
  const wildcard = m[2] !== undefined;
  let hostname: string;
  try {
    hostname = new URL(`${scheme}//${m[3]}`).hostname;
  } catch {
    throw fail('not a valid host');
  }
  const host = normaliseHost(hostname);
  if (!host) throw fail('not a valid host');
  const ip = isIP(host.startsWith('[') ? host.slice(1, -1) : host) !== 0;
  if (wildcard && ip) throw fail('a wildcard needs a domain, not an address');
  if (wildcard && host.split('.').length < 2) throw fail('a wildcard needs a domain of two labels or more');
  if (isMetadataAddress(host)) throw fail('link-local and metadata addresses are never allowed');
  let port = '';
  if (m[4] !== undefined && m[4] !== '*') {
    const n = Number(m[4]);
    if (n < 1 || n > 65535) throw fail('port out of range');
    // URL.port hides the scheme's default port, so "host:443" means the same as "host".
    port = String(n) === defaultPort(scheme) ? '' : String(n);
  }
  return { scheme, host, wildcard, anyPort: m[4] === '*', port };
}

/** Parses the allow-list (built-ins plus `extra`); throws AllowListError on a bad entry. */
export function parseAllowList(extra: readonly string[] = []): Rule[] {
  return [...BUILTIN_ENDPOINT_ALLOW, ...extra].map(parseEntry);
}

const hostMatches = (rule: Rule, host: string): boolean => (rule.wildcard ? host.endsWith(`.${rule.host}`) : host === rule.host);
const portMatches = (rule: Rule, port: string): boolean => rule.anyPort || rule.port === port;

function checkWith(rules: readonly Rule[], value: unknown): EndpointCheck {
  const no = (reason: string): EndpointCheck => ({ ok: false, reason });
  if (typeof value !== 'string' || value === '') return no('expected an https:// URL');
  // Refused before parsing: the WHATWG parser drops tabs and newlines and reads "\" as "/", and
  // what was checked must be what a client would read.
  if (/[\s\p{Cc}]/u.test(value)) return no('must not contain white space or control characters');
  if (value.includes('\\')) return no('must not contain a backslash');
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) return no('expected a URL such as https://host[:port]');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return no('is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return no('must use https (plain http only where CLOUD_ENDPOINT_ALLOW names http:// explicitly)');
  // Never echoed: user info is where credentials go.
  if (value.includes('@') || url.username || url.password) return no('must not contain user info (user:password@)');
  if (value.includes('#')) return no('must not have a fragment');
  if (value.includes('?')) return no('must not have a query');
  if (url.pathname !== '/') return no('must not have a path (the APIs live at "/")');
  const host = normaliseHost(url.hostname);
  if (!host) return no('has no valid host');
  if (isMetadataAddress(host)) return no(`${host} is a link-local or cloud metadata address, never allowed`);
  const hostPort = url.port ? `${host}:${url.port}` : host;
  const endpoint = `${url.protocol}//${hostPort}`;
  if (rules.some((r) => r.scheme === url.protocol && hostMatches(r, host) && portMatches(r, url.port))) return { ok: true, endpoint };
  if (url.protocol === 'http:' && rules.some((r) => hostMatches(r, host))) {
    return no(`${endpoint} must use https (plain http only where CLOUD_ENDPOINT_ALLOW names http:// explicitly)`);
  }
  return no(`${endpoint} is not on the allow-list`);
}

/** The policy for the built-in provider domains plus the controller's CLOUD_ENDPOINT_ALLOW entries. */
export function endpointPolicy(extra: readonly string[] = []): EndpointPolicy {
  const rules = parseAllowList(extra);
  const check = (value: unknown) => checkWith(rules, value);
  return {
    check,
    checkEndpoints(value) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, field: 'endpoints', reason: 'expected an object of endpoint URLs' };
      const out: CloudEndpoints = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const field = `endpoints.${k}`;
        if (!(ENDPOINT_KEYS as readonly string[]).includes(k)) return { ok: false, field, reason: `unknown endpoint (expected ${ENDPOINT_KEYS.join(', ')})` };
        const r = check(v);
        if (!r.ok) return { ok: false, field, reason: r.reason };
        out[k as (typeof ENDPOINT_KEYS)[number]] = r.endpoint;
      }
      return { ok: true, endpoints: out };
    },
  };
}

/** The text a refusal carries (API answer, gateway stateReason): why, and where the allow-list comes from. */
export function endpointRefusal(reason: string): string {
  return `${reason}; cloud endpoints may point only at the providers' own domains (${BUILTIN_ENDPOINT_ALLOW.join(', ')}) over https, or at what the controller's CLOUD_ENDPOINT_ALLOW setting adds`;
}
