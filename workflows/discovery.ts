// Discovery of a cloud gateway from its public IP alone: instance, VPC, vSwitch/subnet, route
// tables, security groups and the VPC's CIDRs. Throttling is retried inside the activity's budget
// queue; a permanent answer (no instance, several, bad credentials) fails the gateway with the
// provider's words.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { cloudActs, cloudFailure, type CloudRef } from './cloud-calls';

const store = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

export const discoveryWorkflowId = (gatewayId: string): string => `discover-${gatewayId}`;

export async function discoverGatewayWorkflow(input: { gatewayId: string; ref: CloudRef; publicIp: string }): Promise<{ state: 'ready' | 'failed'; reason?: string }> {
  let discovered;
  try {
    discovered = await cloudActs(input.ref, 'describe').cloudDiscover({ ...input.ref, publicIp: input.publicIp });
  } catch (err) {
    const f = cloudFailure(err);
    const reason = f ? `${f.message}${f.providerCode ? ` [${f.providerCode}]` : ''}` : err instanceof Error ? err.message : String(err);
    await store.failDiscovery({ gatewayId: input.gatewayId, reason });
    return { state: 'failed', reason };
  }
  return store.applyDiscovery({ gatewayId: input.gatewayId, discovered });
}
