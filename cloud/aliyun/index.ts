// Alibaba Cloud provider: createAliyunProvider(target) implements CloudProvider (cloud/types.ts).
import { CloudError } from '../types';
import { duplicateRouteCodes } from './errors';

export { createAliyunProvider } from './provider';
export type { AliyunClientOptions } from './clients';
export { parseEndpoint } from './clients';
export { maxRoutesPerBatch } from './route-batches';

/**
 * True when createRoute (or one entry of createRoutes) failed because the table already routes that
 * destination. The route may be ours (an earlier attempt with another token, or a resent batch) or
 * someone else's: read getRoute and compare instanceId before treating it as success.
 */
export function isDuplicateRouteError(err: unknown): err is CloudError {
  return err instanceof CloudError && err.kind === 'conflict' && err.providerCode !== undefined && duplicateRouteCodes.has(err.providerCode);
}
