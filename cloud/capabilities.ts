// The registry of providers: their names, what each one's cloud does differently and which endpoints
// an account of it may override. Plain data with no SDK behind it, so workflow code imports it too:
// the orchestration reads capabilities and never branches on a provider's name. A new provider is
// a folder beside aliyun/ and aws/ plus its line here (and in ./index.ts and ./budgets.ts).
import type { CloudProviderName, EndpointService, ProviderCapabilities } from './types';
import { aliyunCapabilities, aliyunEndpointServices } from './aliyun/capabilities';
import { awsCapabilities, awsEndpointServices } from './aws/capabilities';

interface Registered {
  capabilities: ProviderCapabilities;
  endpointServices: readonly EndpointService[];
}

const PROVIDERS: Readonly<Record<CloudProviderName, Registered>> = {
  aliyun: { capabilities: aliyunCapabilities, endpointServices: aliyunEndpointServices },
  aws: { capabilities: awsCapabilities, endpointServices: awsEndpointServices },
};

/** Every provider name, in registry order (for schemas: z.enum(PROVIDER_NAMES)). */
export const PROVIDER_NAMES = Object.freeze(Object.keys(PROVIDERS)) as readonly [CloudProviderName, ...CloudProviderName[]];

/** What `provider`'s cloud does differently; the same record its CloudProvider object carries. */
export function capabilitiesOf(provider: CloudProviderName): ProviderCapabilities {
  const registered = PROVIDERS[provider] as Registered | undefined;
  if (!registered) throw new Error(`unknown cloud provider "${String(provider)}"`);
  return registered.capabilities;
}

/** The endpoint keys an account of `provider` may carry (aliyun: vpc, ecs; aws: ec2). */
export function endpointServicesOf(provider: CloudProviderName): readonly EndpointService[] {
  const registered = PROVIDERS[provider] as Registered | undefined;
  if (!registered) throw new Error(`unknown cloud provider "${String(provider)}"`);
  return registered.endpointServices;
}
