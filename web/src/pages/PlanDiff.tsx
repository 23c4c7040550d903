// A CIDR change as a reader wants it: per end, the traffic selectors before and after, the routes
// added and removed per route table, the security-group rules, and whether the tunnel restarts.
import type { LinkPlanPreview, PlanSide, RouteSpec } from '../api/types';

function ListDiff({ before, after }: { before: string[]; after: string[] }) {
  const removed = before.filter((x) => !after.includes(x));
  const added = after.filter((x) => !before.includes(x));
  const kept = after.filter((x) => before.includes(x));
  if (removed.length === 0 && added.length === 0) return <span className="same">{kept.join(', ') || 'none'} (unchanged)</span>;
  return (
    <ul className="diff">
      {removed.map((x) => (
        <li key={`-${x}`} className="del">
          <span className="sign" aria-hidden="true">−</span> <span className="sr-only">removed </span>
          {x}
        </li>
      ))}
      {added.map((x) => (
        <li key={`+${x}`} className="add">
          <span className="sign" aria-hidden="true">+</span> <span className="sr-only">added </span>
          {x}
        </li>
      ))}
      {kept.map((x) => (
        <li key={`=${x}`} className="keep">
          <span className="sign" aria-hidden="true"> </span> <span className="sr-only">kept </span>
          {x}
        </li>
      ))}
    </ul>
  );
}

function byTable(add: RouteSpec[], remove: RouteSpec[]): Map<string, { add: RouteSpec[]; remove: RouteSpec[] }> {
  const tables = new Map<string, { add: RouteSpec[]; remove: RouteSpec[] }>();
  const at = (id: string) => tables.get(id) ?? tables.set(id, { add: [], remove: [] }).get(id)!;
  for (const r of add) at(r.routeTableId).add.push(r);
  for (const r of remove) at(r.routeTableId).remove.push(r);
  return tables;
}

function SideDiff({ side, label }: { side: PlanSide; label: string }) {
  const tables = byTable(side.routes.add, side.routes.remove);
  const rules = side.securityGroupRules;
  return (
    <section className="plan-side" aria-label={`${label}: ${side.gateway.name}`}>
      <h3>
        {side.gateway.name} <span className="hint">({label})</span>
      </h3>
      <dl className="plan-grid">
        <dt>Networks it carries</dt>
        <dd>
          <ListDiff before={side.cidrs.before} after={side.cidrs.after} />
        </dd>
        <dt>Local traffic selectors</dt>
        <dd>
          <ListDiff before={side.config.before.localTs} after={side.config.after.localTs} />
        </dd>
        <dt>Remote traffic selectors</dt>
        <dd>
          <ListDiff before={side.config.before.remoteTs} after={side.config.after.remoteTs} />
        </dd>
        <dt>Agent configuration</dt>
        <dd>{side.config.changed ? 'changes: the new configuration is pushed to this end' : 'unchanged'}</dd>
        <dt>Routes</dt>
        <dd>
          {tables.size === 0 ? (
            <span className="same">no route changes{side.routes.add.length + side.routes.remove.length === 0 ? ' (no cloud route tables at this end)' : ''}</span>
          ) : (
            [...tables].map(([table, t]) => (
              <div key={table} className="route-table">
                <div className="mono">route table {table}</div>
                <ul className="diff">
                  {t.remove.map((r) => (
                    <li key={`-${r.destinationCidr}`} className="del">
                      <span className="sign" aria-hidden="true">−</span> <span className="sr-only">route removed: </span>
                      {r.destinationCidr} → {r.instanceId}
                    </li>
                  ))}
                  {t.add.map((r) => (
                    <li key={`+${r.destinationCidr}`} className="add">
                      <span className="sign" aria-hidden="true">+</span> <span className="sr-only">route added: </span>
                      {r.destinationCidr} → {r.instanceId}
                    </li>
                  ))}
                </ul>
              </div>
            ))
          )}
        </dd>
        <dt>Security-group rules</dt>
        <dd>
          {rules.add.length + rules.remove.length === 0 ? (
            <span className="same">no rule changes</span>
          ) : (
            <ul className="diff">
              {rules.remove.map((r) => (
                <li key={`-${r.securityGroupId}${r.peerIp}`} className="del">
                  <span className="sign" aria-hidden="true">−</span> <span className="sr-only">rule removed: </span>
                  {r.securityGroupId}: IKE/NAT-T from {r.peerIp}
                </li>
              ))}
              {rules.add.map((r) => (
                <li key={`+${r.securityGroupId}${r.peerIp}`} className="add">
                  <span className="sign" aria-hidden="true">+</span> <span className="sr-only">rule added: </span>
                  {r.securityGroupId}: IKE/NAT-T from {r.peerIp}
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
    </section>
  );
}

export function PlanDiff({ plan }: { plan: LinkPlanPreview }) {
  return (
    <div className="plan" aria-label="What the change does">
      <p className="plan-summary">
        <strong>{plan.changed ? 'This change:' : 'Nothing would change.'}</strong> {plan.changed && plan.summary}
      </p>
      <p className={plan.tunnelRestart ? 'restart yes' : 'restart no'}>
        {plan.tunnelRestart
          ? 'The tunnel restarts: it is re-negotiated with the new traffic selectors (new routes are added first, old ones removed after).'
          : 'The tunnel does not restart.'}
      </p>
      <div className="plan-sides">
        <SideDiff side={plan.a} label="end A" />
        <SideDiff side={plan.b} label="end B" />
      </div>
    </div>
  );
}
