// Connect two networks: both ends' networks with a choice of which CIDRs each side carries, then
// POST /api/links. The API's refusals (overlap, duplicate link, a network already reached through
// another link) are shown here, in its words, with a way to the other link.
import { useMemo, useState, type FormEvent } from 'react';
import { apiClient, ApiError, type Gateway, type Link as ApiLink } from '../api/client';
import { Dialog } from '../ui/Dialog';
import { ErrorNote } from '../ui/Status';
import { PROVIDER_LABEL } from '../ui/labels';
import { Link } from '../router';

interface Props {
  gateways: ReadonlyMap<string, Gateway>;
  links: ReadonlyMap<string, ApiLink>;
  a?: string;
  b?: string;
  onClose: () => void;
  onCreated: (link: ApiLink) => void;
}

export function ConnectDialog({ gateways, links, a: initialA, b: initialB, onClose, onCreated }: Props) {
  const [a, setA] = useState(initialA ?? '');
  const [b, setB] = useState(initialB ?? '');
  // Unchecked networks per gateway (all are carried unless unchecked).
  const [dropped, setDropped] = useState<Record<string, string[]>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const sorted = useMemo(() => [...gateways.values()].sort((x, y) => x.name.localeCompare(y.name)), [gateways]);

  const carried = (id: string): string[] => (gateways.get(id)?.cidrs ?? []).filter((c) => !(dropped[id] ?? []).includes(c));
  const toggle = (id: string, cidr: string) => setDropped((d) => ({ ...d, [id]: (d[id] ?? []).includes(cidr) ? d[id]!.filter((c) => c !== cidr) : [...(d[id] ?? []), cidr] }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    if (!a || !b) return setError(new Error('pick a gateway for each end'));
    if (a === b) return setError(new Error('pick two different gateways: a gateway cannot be linked to itself'));
    const [ga, gb] = [gateways.get(a), gateways.get(b)];
    if (!ga || !gb) return setError(new Error('one of the gateways no longer exists'));
    const ca = carried(a);
    const cb = carried(b);
    // A gateway without networks yet (still being discovered) is the API's to explain.
    const unchosen = [ga, gb].find((g, i) => g.cidrs.length > 0 && (i === 0 ? ca : cb).length === 0);
    if (unchosen) return setError(new Error(`choose at least one network for ${unchosen.name}`));
    // Only a narrowed choice is sent: otherwise the link follows each gateway's networks.
    const cidrs = { ...(ca.length < ga.cidrs.length ? { a: ca } : {}), ...(cb.length < gb.cidrs.length ? { b: cb } : {}) };
    setBusy(true);
    try {
      const link = await apiClient.createLink({ a, b, ...(Object.keys(cidrs).length ? { cidrs } : {}) });
      onCreated(link);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const otherLinkId = error instanceof ApiError && typeof error.details?.link === 'string' ? error.details.link : undefined;
  const otherLink = otherLinkId ? links.get(otherLinkId) : undefined;

  const end = (label: string, value: string, set: (v: string) => void, key: 'a' | 'b') => {
    const g = gateways.get(value);
    return (
      <fieldset className="end">
        <legend>{label}</legend>
        <label>
          Gateway
          <select aria-label={`${label}: gateway`} value={value} onChange={(e) => set(e.target.value)} data-autofocus={!value && (key === 'a' || a) ? true : undefined} required>
            <option value="">Choose a gateway…</option>
            {sorted.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name} ({PROVIDER_LABEL[x.provider]}
                {x.online ? ', online' : ', offline'})
              </option>
            ))}
          </select>
        </label>
        {g && (
          <div className="cidr-choice" role="group" aria-label={`Networks ${g.name} carries`}>
            <p className="hint">Networks {g.name} carries over this link:</p>
            {g.cidrs.length === 0 && <p className="hint">{g.name} has no networks yet{g.state === 'discovering' ? ' (still being discovered)' : ''}.</p>}
            {g.cidrs.map((cidr) => (
              <label key={cidr} className="check">
                <input type="checkbox" checked={!(dropped[g.id] ?? []).includes(cidr)} onChange={() => toggle(g.id, cidr)} /> {cidr}
              </label>
            ))}
          </div>
        )}
      </fieldset>
    );
  };

  return (
    <Dialog label="Connect networks" onClose={onClose} wide>
      <form onSubmit={(e) => void submit(e)}>
        <div className="ends">
          {end('First end', a, setA, 'a')}
          <span className="ends-arrow" aria-hidden="true">
            ⇄
          </span>
          {end('Second end', b, setB, 'b')}
        </div>
        <ErrorNote error={error}>
          {otherLinkId && (
            <p>
              The other link:{' '}
              <Link href={`/links/${encodeURIComponent(otherLinkId)}`}>{otherLink ? `${otherLink.a.name} ⇄ ${otherLink.b.name} (${otherLink.state})` : otherLinkId}</Link>
            </p>
          )}
        </ErrorNote>
        <div className="actions">
          {/* Both ends picked on the map: focus waits on Connect (Tab goes back to the choices). */}
          <button type="submit" className="primary" disabled={busy} data-autofocus={initialA && initialB ? true : undefined}>
            {busy ? 'Connecting…' : 'Connect'}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
