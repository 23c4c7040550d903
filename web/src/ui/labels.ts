import type { Gateway, LinkState, Provider } from '../api/types';

export const PROVIDER_LABEL: Record<Provider, string> = { onprem: 'On-prem', aliyun: 'Alibaba Cloud', aws: 'AWS' };

export const STATE_LABEL: Record<LinkState, string> = {
  provisioning: 'provisioning',
  up: 'up',
  updating: 'updating',
  degraded: 'degraded',
  failed: 'failed',
  deleting: 'deleting',
  deleted: 'deleted',
};

export const STATE_HELP: Record<LinkState, string> = {
  provisioning: 'being set up',
  up: 'tunnel up on both ends',
  updating: 'a change is being applied',
  degraded: 'tunnel down on an end; being repaired',
  failed: 'stopped; see the reason',
  deleting: 'being torn down',
  deleted: 'removed',
};

export const regionOf = (g: Gateway): string | null => g.cloud?.region ?? null;

export const addressOf = (g: Gateway): string => g.endpoint ?? g.publicIp ?? g.observedIp ?? 'address unknown';

export function tunnelLabel(up: boolean | null | undefined): string {
  if (up === true) return 'tunnel up';
  if (up === false) return 'tunnel down';
  return 'not reported yet';
}
