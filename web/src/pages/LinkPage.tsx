// One link: its state and why, each end's tunnel, the event timeline, its workflow in the Temporal
// UI; change its CIDRs with a preview first; delete it, knowing what goes.
import { useEffect, useState, type FormEvent } from 'react';
import { apiClient, type Link as ApiLink, type LinkPlanPreview, type Teardown } from '../api/client';
import { useLive, useStore } from '../live/context';
import { Link, navigate } from '../router';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { ErrorNote, Loading } from '../ui/Status';
import { STATE_HELP, tunnelLabel } from '../ui/labels';
import { PlanDiff } from './PlanDiff';
import { DataPlane } from './DataPlane';
import { useCan } from '../api/role';

const parseCidrs = (text: string): string[] =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
const sameSet = (x: string[], y: string[]) => x.length === y.length && x.every((v) => y.includes(v));

export default function LinkPage({ id }: { id: string }) {
  const store = useStore();
  const link = useLive((s) => s.mesh.links.get(id));
  const canOperate = useCan('operate');
  const events = useLive((s) => s.mesh.events.get(id));
  const [loadError, setLoadError] = useState<unknown>();

  useEffect(() => {
    const unwatch = store.watchLink(id);
    setLoadError(undefined);
    store.loadLink(id).catch(setLoadError);
    return unwatch;
  }, [store, id]);

  if (!link) {
    return (
      <section className="page">
        <p>
          <Link href="/">← Map</Link>
        </p>
        {loadError ? <ErrorNote error={loadError} /> : <Loading what="the link" />}
      </section>
    );
  }

  return (
    <section className="page link-page" aria-labelledby="link-title">
      <p>
        <Link href="/">← Map</Link> · <Link href="/links">All links</Link>
      </p>
      <h1 id="link-title">
        {link.a.name} ⇄ {link.b.name}
      </h1>
      <div className="link-state">
        <span className={`state-pill state-${link.state}`}>{link.state}</span> <span className="hint">{STATE_HELP[link.state]}</span>
        {link.stateReason && (
          <p className="reason">
            <strong>Reason:</strong> {link.stateReason}
          </p>
        )}
      </div>
      <table className="ends-table">
        <caption className="sr-only">The link's two ends</caption>
        <thead>
          <tr>
            <th scope="col">End</th>
            <th scope="col">Gateway</th>
            <th scope="col">Networks carried</th>
            <th scope="col">Tunnel</th>
          </tr>
        </thead>
        <tbody>
          {(['a', 'b'] as const).map((side) => (
            <tr key={side}>
              <td>{side.toUpperCase()}</td>
              <td>{link[side].name}</td>
              <td className="mono">{link[side].cidrs.join(', ')}</td>
              <td>
                <span className={link[side].tunnelUp ? 'tunnel up' : link[side].tunnelUp === false ? 'tunnel down' : 'tunnel unknown'}>{tunnelLabel(link[side].tunnelUp)}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="meta">
        Link <span className="mono">{link.id}</span> · key version {link.keyVersion} ·{' '}
        {link.workflowUrl ? (
          <a href={link.workflowUrl} target="_blank" rel="noreferrer noopener">
            Open its workflow in the Temporal UI
          </a>
        ) : (
          <span>
            workflow <span className="mono">{link.workflowId}</span> (the Temporal UI address is not configured)
          </span>
        )}
      </p>
      {link.state !== 'deleted' && <DataPlane link={link} />}
      {link.state !== 'deleted' && <ChangeCidrs link={link} canChange={canOperate} />}
      {link.state !== 'deleted' && canOperate && <DeleteLink link={link} />}
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Events</h2>
        {!events ? (
          <Loading what="the events" />
        ) : (
          <ol className="timeline" aria-live="polite">
            {[...events].reverse().map((e, i) => (
              <li key={`${e.at}${e.type}${i}`} className={`event ev-${e.type.replace(/[^a-z]/gi, '-')}`}>
                <time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time> <span className="ev-type mono">{e.type}</span> <span className="ev-msg">{e.message}</span>
              </li>
            ))}
          </ol>
        )}
      </section>
    </section>
  );
}

function ChangeCidrs({ link, canChange }: { link: ApiLink; canChange: boolean }) {
  const store = useStore();
  const gateways = useLive((s) => s.mesh.gateways);
  const [open, setOpen] = useState(false);
  const [text, setText] = useState({ a: link.a.cidrs.join(', '), b: link.b.cidrs.join(', ') });
  const [plan, setPlan] = useState<{ plan: LinkPlanPreview; cidrs: { a?: string[]; b?: string[] } }>();
  const [applied, setApplied] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const wanted = () => {
    const a = parseCidrs(text.a);
    const b = parseCidrs(text.b);
    return { ...(sameSet(a, link.a.cidrs) ? {} : { a }), ...(sameSet(b, link.b.cidrs) ? {} : { b }) };
  };

  const preview = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setPlan(undefined);
    setApplied(false);
    const cidrs = wanted();
    if (!cidrs.a && !cidrs.b) return setError(new Error('the networks are the same as now: change at least one end'));
    if (cidrs.a?.length === 0 || cidrs.b?.length === 0) return setError(new Error('each end must carry at least one network'));
    setBusy(true);
    try {
      setPlan({ plan: await apiClient.planLink(link.id, cidrs), cidrs });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const apply = async () => {
    if (!plan) return;
    setBusy(true);
    setError(undefined);
    try {
      const { plan: _plan, ...updated } = await apiClient.changeLink(link.id, plan.cidrs);
      store.linkChanged(updated);
      setApplied(true);
      setPlan(undefined);
      setOpen(false);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const busyLink = link.state === 'provisioning' || link.state === 'updating' || link.state === 'deleting';
  return (
    <section className="change" aria-labelledby="change-title">
      <h2 id="change-title">Networks</h2>
      {applied && (
        <p className="applying" role="status">
          {link.state === 'updating' ? 'Applying the change… the link returns to up when both ends run the new configuration.' : link.stateReason ? `Finished: ${link.state}. ${link.stateReason}` : `Finished: the link is ${link.state}.`}
        </p>
      )}
      {!open ? (
        canChange && (
          <button type="button" onClick={() => setOpen(true)} disabled={busyLink}>
            Change CIDRs
          </button>
        )
      ) : (
        <form onSubmit={(e) => void preview(e)} className="change-form">
          {(['a', 'b'] as const).map((side) => (
            <div key={side} className="field">
              <label htmlFor={`nets-input-${side}`}>Networks {link[side].name} carries</label>
              <input id={`nets-input-${side}`} type="text" value={text[side]} onChange={(e) => setText((t) => ({ ...t, [side]: e.target.value }))} aria-describedby={`nets-${side}`} spellCheck={false} />
              <span id={`nets-${side}`} className="hint">
                Comma-separated CIDRs inside {link[side].name}'s networks: {gateways.get(link[side].id)?.cidrs.join(', ') ?? '…'}
              </span>
            </div>
          ))}
          <div className="actions">
            <button type="submit" disabled={busy}>
              Preview change
            </button>
            <button type="button" onClick={() => { setOpen(false); setPlan(undefined); setError(undefined); }}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <ErrorNote error={error} />
      {plan && (
        <div className="preview" aria-live="polite">
          <PlanDiff plan={plan.plan} />
          <div className="actions">
            <button type="button" className="primary" onClick={() => void apply()} disabled={busy || !plan.plan.changed}>
              Apply
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

function DeleteLink({ link }: { link: ApiLink }) {
  const store = useStore();
  const [confirming, setConfirming] = useState(false);
  // What the link holds in its clouds, from the controller's records (routes that were there before
  // the link, and rules other links still need, are named as kept).
  const [teardown, setTeardown] = useState<Teardown | 'loading' | { failed: unknown }>('loading');
  useEffect(() => {
    if (!confirming) return;
    let current = true;
    setTeardown('loading');
    apiClient.teardown(link.id).then(
      (answer) => current && setTeardown(answer),
      (err: unknown) => current && setTeardown({ failed: err }),
    );
    return () => {
      current = false;
    };
  }, [confirming, link.id]);

  const remove = async () => {
    store.linkChanged(await apiClient.deleteLink(link.id));
    setConfirming(false);
  };

  return (
    <section className="danger-zone" aria-label="Delete">
      {link.state !== 'deleting' && (
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          Delete link
        </button>
      )}
      {confirming && (
        <ConfirmDialog label="Delete link" title={`Delete the link ${link.a.name} ⇄ ${link.b.name}?`} confirm="Delete link" busyLabel="Deleting…" onConfirm={remove} onClose={() => setConfirming(false)}>
          <p>Both ends stop the tunnel; traffic between {link.a.cidrs.join(', ')} and {link.b.cidrs.join(', ')} stops.</p>
          {teardown === 'loading' ? (
            <Loading what="the routes and rules this link holds" />
          ) : 'failed' in teardown ? (
            <>
              <p>Could not read the routes and rules this link holds; the delete removes those the controller created.</p>
              <ErrorNote error={teardown.failed} />
            </>
          ) : (
            <TeardownList teardown={teardown} />
          )}
        </ConfirmDialog>
      )}
      {link.state === 'deleting' && (
        <p role="status">
          Being deleted. <button type="button" className="linkish" onClick={() => navigate('/')}>Back to the map</button>
        </p>
      )}
    </section>
  );
}

function TeardownList({ teardown }: { teardown: Teardown }) {
  if (teardown.routes.length === 0 && teardown.rules.length === 0) return <p>The link holds no cloud routes or security-group rules: nothing else to remove.</p>;
  const removed = teardown.routes.filter((route) => route.removed);
  const kept = teardown.routes.filter((route) => !route.removed);
  return (
    <>
      {removed.length > 0 && (
        <>
          <p>Routes removed:</p>
          <ul className="mono">
            {removed.map((r) => (
              <li key={`${r.gateway.id}${r.routeTableId}${r.destinationCidr}`}>
                {r.gateway.name}: {r.routeTableId} {r.destinationCidr} → {r.instanceId}
              </li>
            ))}
          </ul>
        </>
      )}
      {kept.length > 0 && (
        <>
          <p>Routes kept:</p>
          <ul className="mono">
            {kept.map((r) => (
              <li key={`${r.gateway.id}${r.routeTableId}${r.destinationCidr}`}>
                {r.gateway.name}: {r.routeTableId} {r.destinationCidr} → {r.instanceId} <span className="hint">({r.keptBecause})</span>
              </li>
            ))}
          </ul>
        </>
      )}
      {teardown.rules.length > 0 && (
        <>
          <p>Security-group rules:</p>
          <ul className="mono">
            {teardown.rules.map((r) => (
              <li key={`${r.gateway.id}${r.securityGroupId}${r.peerIp}`}>
                {r.removed ? 'removed' : 'kept'} — {r.gateway.name}: {r.securityGroupId} IKE/NAT-T from {r.peerIp}
                {r.keptBecause && <span className="hint"> ({r.keptBecause})</span>}
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
