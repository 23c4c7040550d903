// The one place a CloudProvider is built from a target (provider, region, credentials, endpoints).
import { createAliyunProvider } from './aliyun';
import { createAwsProvider } from './aws';
import type { CloudProvider, CloudTarget } from './types';

export function createProvider(target: CloudTarget): CloudProvider {
  switch (target.provider) {
    case 'aliyun':
      return createAliyunProvider(target);
    case 'aws':
      return createAwsProvider(target);
  }
}

export * from './types';
export { capabilitiesOf, endpointServicesOf, PROVIDER_NAMES } from './capabilities';
