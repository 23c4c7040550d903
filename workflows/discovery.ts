// Discovery of a cloud gateway from its public IP alone: instance, VPC, vSwitch/subnet, route
// tables, security groups and the VPC's CIDRs. Throttling is retried inside the activity's budget
// queue; a permanent answer (no instance, several, bad credentials) fails the gateway with the
// provider's words.
import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { cloudActs, cloudFailure } from './cloud-calls';
import type { CloudRef } from '../cloud/types';

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

export const followInstanceWorkflowId = (gatewayId: string): string => `follow-instance-${gatewayId}`;

/**
 * A gateway's agent says it now runs on another instance (a standby took over the EIP, the VPN
 * container moved). The cloud has the last word: discovery by the public IP must find that very
 * instance before anything follows it, so an agent cannot point a VPC's routes at an instance of
 * its choosing. When it does, the gateway takes the instance's address, subnet and security
 * groups, and its links re-plan (routes and rules move). A claim the cloud does not back changes
 * nothing; the answer says why.
 */
export async function followInstanceWorkflow(input: { gatewayId: string; ref: CloudRef; publicIp: string; reportedInstanceId: string }): Promise<{ followed: boolean; reason?: string }> {
  const refuse = (reason: string) => {
    log.warn('not following the instance the agent reports', { gatewayId: input.gatewayId, reported: input.reportedInstanceId, reason });
    return { followed: false, reason };
  };
  let found;
  try {
    found = await cloudActs(input.ref, 'describe').cloudDiscover({ ...input.ref, publicIp: input.publicIp });
  } catch (err) {
    const f = cloudFailure(err);
    return refuse(`discovery of ${input.publicIp} failed: ${f ? f.message : err instanceof Error ? err.message : String(err)}`);
  }
  if (found.instanceId !== input.reportedInstanceId) return refuse(`the cloud has ${input.publicIp} on ${found.instanceId}, not on ${input.reportedInstanceId}`);
  const r = await store.followDiscoveredInstance({ gatewayId: input.gatewayId, discovered: found });
  if ('refused' in r) return refuse(r.refused);
  if (r.changed) await store.replanGatewayLinks({ gatewayId: input.gatewayId });
  return { followed: true };
}
