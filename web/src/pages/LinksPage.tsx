// Every link as a table: the map's edges in a form a keyboard or a screen reader gets through
// quickly, filterable by state and by a gateway's name or a CIDR.
import { useMemo, useState } from 'react';
import { LINK_STATES, type LinkState } from '../api/types';
import { useLive } from '../live/context';
import { Link } from '../router';
import { ErrorNote, Loading } from '../ui/Status';
import { tunnelLabel } from '../ui/labels';

/** Rows drawn at once; the filter narrows the rest down. */
const PAGE = 300;

export default function LinksPage() {
  const links = useLive((s) => s.mesh.links);
  const loaded = useLive((s) => s.loaded);
  const error = useLive((s) => s.error);
  const [state, setState] = useState<LinkState | ''>('');
  const [text, setText] = useState('');
  const rows = useMemo(() => {
    const q = text.trim().toLowerCase();
    return [...links.values()]
      .filter((l) => l.state !== 'deleted' && (!state || l.state === state))
      .filter((l) => !q || [l.a.name, l.b.name, ...l.a.cidrs, ...l.b.cidrs].some((v) => v.toLowerCase().includes(q)))
      .sort((x, y) => `${x.a.name}\0${x.b.name}`.localeCompare(`${y.a.name}\0${y.b.name}`));
  }, [links, state, text]);

  return (
    <section className="page" aria-labelledby="links-title">
      <div className="page-head">
        <h1 id="links-title">Links</h1>
        <Link className="button primary" href="/">
          Connect on the map
        </Link>
      </div>
      <div className="filters">
        <label>
          State
          <select value={state} onChange={(e) => setState(e.target.value as LinkState | '')}>
            <option value="">any</option>
            {LINK_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Gateway or CIDR
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="dc-beijing or 10.1." />
        </label>
        <p className="hint" aria-live="polite">
          {rows.length} link{rows.length === 1 ? '' : 's'}
          {rows.length > PAGE ? `, the first ${PAGE} shown: narrow the filter to see others` : ''}
        </p>
      </div>
      {!loaded && !error && <Loading what="links" />}
      <ErrorNote error={error && !loaded ? new Error(error) : undefined} />
      {loaded && links.size === 0 && <p>No links yet: on the map, click one gateway and then another to connect them.</p>}
      {rows.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Link</th>
              <th scope="col">State</th>
              <th scope="col">Networks</th>
              <th scope="col">Tunnel</th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, PAGE).map((l) => (
              <tr key={l.id} data-link-row={l.id}>
                <th scope="row">
                  <Link href={`/links/${encodeURIComponent(l.id)}`}>
                    {l.a.name} ⇄ {l.b.name}
                  </Link>
                </th>
                <td>
                  <span className={`state-pill state-${l.state}`}>{l.state}</span>
                  {l.stateReason && <div className="hint">{l.stateReason}</div>}
                </td>
                <td className="mono">
                  {l.a.cidrs.join(', ')} ⇄ {l.b.cidrs.join(', ')}
                </td>
                <td>
                  {l.a.name}: {tunnelLabel(l.a.tunnelUp)}; {l.b.name}: {tunnelLabel(l.b.tunnelUp)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
