// Builds the real VPC and ECS SDK clients for one CloudTarget: explicit keys or the standard
// credential chain, regional public endpoints unless overridden (private endpoints, the test fake).
import VpcClient from '@alicloud/vpc20160428';
import EcsClient from '@alicloud/ecs20140526';
import { Config } from '@alicloud/openapi-client';
import Credential from '@alicloud/credentials';
import { CloudError, type CloudTarget } from '../types';

export interface AliyunClients {
  vpc: VpcClient;
  ecs: EcsClient;
  regionId: string;
}

export interface AliyunClientOptions {
  /** TCP connect timeout (default 5 s). */
  connectTimeoutMs?: number;
  /** Time to wait for a response (default 15 s); a timeout is an 'unavailable' error. */
  readTimeoutMs?: number;
}

/**
 * Splits an endpoint override into what the SDK's Config wants: "http://127.0.0.1:9000" ->
 * { endpoint: "127.0.0.1:9000", protocol: "http" }; a bare host means HTTPS. RPC APIs live at "/",
 * so a path is refused rather than silently dropped. A refused value is never quoted: it may hold
 * credentials as user info.
 *
 * Plain http stays possible here on purpose: which endpoints an account may use (https, provider
 * domains, CLOUD_ENDPOINT_ALLOW) is decided where accounts come in and are used, by the API and
 * providerResolver (cloud/endpoint-policy.ts); tests build providers on the http fake directly.
 */
export function parseEndpoint(value: string, product?: 'vpc' | 'ecs'): { endpoint: string; protocol: 'http' | 'https' } {
  const what = product ? `aliyun ${product} endpoint` : 'aliyun endpoint';
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(value)) throw new CloudError('invalid', `${what} is not a host[:port] or URL`);
    return { endpoint: value, protocol: 'https' };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CloudError('invalid', `${what} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CloudError('invalid', `${what} must use http or https`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    throw new CloudError('invalid', `${what} must be scheme://host[:port] without path, query, fragment or user`);
  }
  return { endpoint: url.host, protocol: url.protocol === 'http:' ? 'http' : 'https' };
}

function config(target: CloudTarget, product: 'vpc' | 'ecs', opts: AliyunClientOptions): Config {
  const { endpoint, protocol } = parseEndpoint(target.endpoints?.[product] ?? `${product}.${target.region}.aliyuncs.com`, product);
  const common = {
    regionId: target.region,
    endpoint,
    protocol,
    connectTimeout: opts.connectTimeoutMs ?? 5_000,
    readTimeout: opts.readTimeoutMs ?? 15_000,
  };
  const c = target.credentials;
  if (c) {
    return new Config({ ...common, accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: c.securityToken });
  }
  // Default chain: env ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, ~/.aliyun profile, OIDC, ECS instance role.
  return new Config({ ...common, credential: new Credential() });
}

export function createClients(target: CloudTarget, opts: AliyunClientOptions = {}): AliyunClients {
  if (target.provider !== 'aliyun') throw new CloudError('invalid', `target provider is ${target.provider}, not aliyun`);
  if (!/^[a-z]{2}-[a-z0-9-]+$/.test(target.region)) throw new CloudError('invalid', `"${target.region}" is not an Alibaba Cloud region id`);
  return {
    vpc: new VpcClient(config(target, 'vpc', opts)),
    ecs: new EcsClient(config(target, 'ecs', opts)),
    regionId: target.region,
  };
}
