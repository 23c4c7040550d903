// Changing a running link: bring it to what the database now says. An operator's CIDR change is
// rolled back if it cannot be applied; a moved gateway (new address or instance) is followed.
import type { LinkPlan, PlanChange } from '../../contracts/link-plan';
import { describeChange, diffPlans } from '../../contracts/link-plan';
import type { LinkEntity } from './entity';
import { DeleteRequested, failureMessage } from './errors';
import { provision } from './provision';
import { reconfigure } from './reconfigure';
import { store } from '../bookkeeping';

/** Applies every change asked for since the last pass; a delete arriving meanwhile ends it early. */
export async function applyPendingChanges(link: LinkEntity): Promise<'done' | 'delete'> {
  link.takeChanges();
  try {
    await converge(link);
    return 'done';
  } catch (err) {
    if (err instanceof DeleteRequested) return 'delete';
    await link.setPhase('failed', failureMessage(err), 'link.failed', failureMessage(err));
    return 'done';
  }
}

/** Brings the link to what the database now says (new CIDRs, a gateway's new address). */
async function converge(link: LinkEntity): Promise<void> {
  const target = await store.planLink(link.linkId);
  if (target.refused !== undefined) {
    // Whatever runs keeps running (charon holds the SAs); nothing is changed towards a plan no
    // tunnel can follow, and the next change of a gateway brings the link back here.
    link.refused = true;
    await link.setPhase('failed', target.refused, 'link.unreachable', target.refused);
    return;
  }
  const wasRefused = link.refused;
  link.refused = false;
  if (!link.applied) {
    // The link never came up: provisioning again with the new plan is the whole change.
    link.phase = 'provisioning';
    await provision(link);
    return;
  }
  const from = link.applied;
  const change = diffPlans(from, target);
  if (change.none) {
    link.applied = target;
    if (link.phase === 'updating') await link.setPhase('up', undefined, 'link.unchanged', 'the requested configuration is already applied');
    else if (wasRefused && link.phase === 'failed') await link.setPhase('up', undefined, 'link.reachable', `an end can be reached again; ${target.initiatorWhy ?? 'the tunnel was left as it was'}`);
    return;
  }
  if (change.cidrs) await changeCidrs(link, from, target, change);
  else await followMove(link, from, target, change);
}

/** A gateway's new address or instance: a fact to follow, not a request to undo. */
async function followMove(link: LinkEntity, from: LinkPlan, target: LinkPlan, change: PlanChange): Promise<void> {
  const summary = describeChange(from, target, change);
  await link.setPhase('updating', undefined, 'link.changing', `applying: ${summary}`);
  try {
    await reconfigure(link, from, target);
  } catch (err) {
    if (err instanceof DeleteRequested) throw err;
    // Keep trying on the next report.
    const why = failureMessage(err);
    await link.setPhase('failed', why, 'link.change_failed', `could not follow the change (${summary}): ${why}`);
    return;
  }
  link.applied = target;
  await link.setPhase('up', undefined, 'link.changed', `applied: ${summary}`);
}

/** An operator's CIDR change, rolled back to the CIDRs that last worked when it cannot be applied. */
async function changeCidrs(link: LinkEntity, from: LinkPlan, target: LinkPlan, change: PlanChange): Promise<void> {
  const summary = describeChange(from, target, change);
  await link.setPhase('updating', undefined, 'link.changing', `applying: ${summary}`);
  try {
    await reconfigure(link, from, target);
    link.applied = target;
    await link.setPhase('up', undefined, 'link.changed', `applied: ${summary}`);
    return;
  } catch (err) {
    if (err instanceof DeleteRequested) throw err;
    await rollBack(link, from, target, failureMessage(err));
  }
}

/** Back to `from`'s CIDRs, keeping any address change that came with the failed change. */
async function rollBack(link: LinkEntity, from: LinkPlan, target: LinkPlan, why: string): Promise<void> {
  const back: LinkPlan = { ...target, a: { ...target.a, cidrs: from.a.cidrs }, b: { ...target.b, cidrs: from.b.cidrs } };
  await store.revertLinkCidrs({ linkId: link.linkId, a: from.a.cidrs, b: from.b.cidrs, reason: why });
  try {
    await reconfigure(link, target, back);
    link.applied = back;
    await link.setPhase('up', `CIDR change rolled back: ${why}`, 'link.rolled_back', `CIDR change rolled back to ${from.a.cidrs.join(', ')} ↔ ${from.b.cidrs.join(', ')}: ${why}`);
  } catch (err) {
    if (err instanceof DeleteRequested) throw err;
    await link.setPhase('failed', `CIDR change failed (${why}) and so did the rollback: ${failureMessage(err)}`, 'link.failed', `rollback failed: ${failureMessage(err)}`);
  }
}
