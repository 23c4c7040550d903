// Gateways: the list with presence and discovery, registering one (on-prem or cloud), the agent
// secret shown once with the command to start the agent, rename / edit networks, rotate the
// secret, delete.
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { apiClient, type CloudAccount, type Gateway } from '../api/client';
import { useLive, useStore } from '../live/context';
import { Dialog } from '../ui/Dialog';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { ErrorNote, Loading } from '../ui/Status';
import { PROVIDER_LABEL, addressOf } from '../ui/labels';
import { Link, navigate } from '../router';
import { useCan } from '../api/role';

const splitList = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/** When the controller does not know: the agents' listener is separate from the API's (AGENT_PORT, 8081 by default). */
const defaultAgentUrl = () => `${window.location.protocol}//${window.location.hostname}:8081`;

export default function GatewaysPage({ register }: { register: boolean }) {
  const gateways = useLive((s) => s.mesh.gateways);
  const loaded = useLive((s) => s.loaded);
  const error = useLive((s) => s.error);
  const [registering, setRegistering] = useState(register);
  const [secret, setSecret] = useState<{ gateway: Gateway; secret: string; agentUrl: string | null; rotated: boolean }>();
  const [editing, setEditing] = useState<Gateway>();
  const [deleting, setDeleting] = useState<Gateway>();
  const [rotating, setRotating] = useState<Gateway>();
  const sorted = useMemo(() => [...gateways.values()].sort((x, y) => x.name.localeCompare(y.name)), [gateways]);
  const canOperate = useCan('operate');

  useEffect(() => setRegistering(register), [register]);

  return (
    <section className="page" aria-labelledby="gw-title">
      <div className="page-head">
        <h1 id="gw-title">Gateways</h1>
        {canOperate && (
          <button type="button" className="primary" onClick={() => setRegistering(true)}>
            Register gateway
          </button>
        )}
      </div>
      <p className="hint">A gateway is one VPN container (strongSwan and the agent) in a data centre or a cloud VPC.</p>
      {!loaded && !error && <Loading what="gateways" />}
      <ErrorNote error={error && !loaded ? new Error(error) : undefined} />
      {loaded && sorted.length === 0 && <p>No gateways yet: register one for each network you want to connect.</p>}
      {sorted.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Where</th>
              <th scope="col">Agent</th>
              <th scope="col">Address</th>
              <th scope="col">Networks</th>
              <th scope="col">Discovery</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((g) => (
              <tr key={g.id} data-gateway-row={g.id}>
                <th scope="row">
                  <Link href={`/?gateway=${encodeURIComponent(g.id)}`}>{g.name}</Link>
                  <div className="hint mono">{g.id}</div>
                </th>
                <td>
                  <span className={`badge provider-${g.provider}`}>{PROVIDER_LABEL[g.provider]}</span> {g.cloud?.region}
                </td>
                <td>
                  <span className={g.online ? 'presence on' : 'presence off'}>
                    <span className="dot" aria-hidden="true" />
                    {g.online ? 'online' : 'offline'}
                  </span>
                </td>
                <td className="mono">{addressOf(g)}</td>
                <td className="mono">{g.cidrs.join(', ') || '—'}</td>
                <td>
                  <Discovery gateway={g} />
                </td>
                <td className="row-actions">
                  {canOperate && (
                    <>
                      <button type="button" onClick={() => setEditing(g)} aria-label={`Edit ${g.name}`}>
                        Edit
                      </button>
                      <button type="button" onClick={() => setRotating(g)} aria-label={`Rotate the agent secret of ${g.name}`}>
                        Rotate secret
                      </button>
                      <button type="button" className="danger" onClick={() => setDeleting(g)} aria-label={`Delete ${g.name}`}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {registering && canOperate && (
        <RegisterDialog
          onClose={() => {
            setRegistering(false);
            if (register) navigate('/gateways', { replace: true });
          }}
          onRegistered={(gateway, agentSecret, agentUrl) => {
            setRegistering(false);
            if (register) navigate('/gateways', { replace: true });
            setSecret({ gateway, secret: agentSecret, agentUrl, rotated: false });
          }}
        />
      )}
      {secret && <SecretDialog {...secret} onClose={() => setSecret(undefined)} />}
      {editing && <EditDialog gateway={editing} onClose={() => setEditing(undefined)} />}
      {deleting && <DeleteDialog gateway={deleting} onClose={() => setDeleting(undefined)} />}
      {rotating && (
        <RotateDialog
          gateway={rotating}
          onClose={() => setRotating(undefined)}
          onRotated={(rotated, agentUrl) => {
            setSecret({ gateway: rotating, secret: rotated, agentUrl, rotated: true });
            setRotating(undefined);
          }}
        />
      )}
    </section>
  );
}

function Discovery({ gateway: g }: { gateway: Gateway }) {
  if (g.provider === 'onprem') return <span className="hint">not needed (on-prem)</span>;
  if (g.state === 'discovering')
    return (
      <span role="status">
        <span className="spinner" aria-hidden="true" /> discovering…
      </span>
    );
  if (g.state === 'failed')
    return (
      <span className="failed-text">
        failed: {g.stateReason ?? 'unknown reason'}
      </span>
    );
  const c = g.cloud;
  return (
    <span>
      ready
      {c && (
        <span className="hint mono discovery">
          {' '}
          instance {c.instanceId ?? '?'} · VPC {c.vpcId ?? '?'} · route tables {c.routeTableIds.join(', ') || 'none'}
        </span>
      )}
    </span>
  );
}

function RegisterDialog({ onClose, onRegistered }: { onClose: () => void; onRegistered: (gateway: Gateway, secret: string, agentUrl: string | null) => void }) {
  const store = useStore();
  const [kind, setKind] = useState<'onprem' | 'aliyun' | 'aws'>('onprem');
  const [name, setName] = useState('');
  const [cidrs, setCidrs] = useState('');
  const [publicIp, setPublicIp] = useState('');
  const [noInbound, setNoInbound] = useState(false);
  const [region, setRegion] = useState('');
  const [account, setAccount] = useState('');
  const [accounts, setAccounts] = useState<CloudAccount[]>();
  const [accountsError, setAccountsError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    if (kind === 'onprem' || accounts) return;
    apiClient.listAccounts().then(setAccounts, setAccountsError);
  }, [kind, accounts]);
  const usable = (accounts ?? []).filter((a) => a.provider === kind);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      const created =
        kind === 'onprem'
          ? await apiClient.createGateway({ name: name.trim(), provider: 'onprem', cidrs: splitList(cidrs), ...(publicIp.trim() ? { publicIp: publicIp.trim() } : {}), ...(noInbound ? { inbound: false } : {}) })
          : await apiClient.createGateway({ name: name.trim(), provider: kind, region: region.trim(), publicIp: publicIp.trim(), account });
      const { agentSecret, agentUrl, ...gateway } = created;
      store.gatewayChanged(gateway);
      onRegistered(gateway, agentSecret, agentUrl);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog label="Register gateway" onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} className="form">
        <fieldset className="kind">
          <legend>Where is it?</legend>
          {(['onprem', 'aliyun', 'aws'] as const).map((k) => (
            <label key={k} className="check">
              <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} /> {k === 'onprem' ? 'Data centre (on-prem)' : PROVIDER_LABEL[k]}
            </label>
          ))}
        </fieldset>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} placeholder="dc-beijing" data-autofocus />
        </label>
        {kind === 'onprem' ? (
          <>
            <label>
              Networks (CIDRs)
              <input value={cidrs} onChange={(e) => setCidrs(e.target.value)} required placeholder="10.1.0.0/24, 10.1.8.0/22" spellCheck={false} />
            </label>
            <label>
              Public IP <span className="hint">(optional: else the address the agent connects from)</span>
              <input value={publicIp} onChange={(e) => setPublicIp(e.target.value)} placeholder="203.0.113.10" spellCheck={false} />
            </label>
            <label className="check">
              <input type="checkbox" checked={noInbound} onChange={(e) => setNoInbound(e.target.checked)} /> Peers cannot connect in (a masquerading NAT or a firewall letting nothing in)
            </label>
          </>
        ) : (
          <>
            <label>
              Region
              <input value={region} onChange={(e) => setRegion(e.target.value)} required placeholder={kind === 'aws' ? 'us-east-1' : 'cn-hangzhou'} spellCheck={false} />
            </label>
            <label>
              Public IP or EIP of the gateway instance
              <input value={publicIp} onChange={(e) => setPublicIp(e.target.value)} required placeholder="47.96.1.2" spellCheck={false} />
            </label>
            <label>
              Cloud account
              <select value={account} onChange={(e) => setAccount(e.target.value)} required>
                <option value="">{accounts ? (usable.length ? 'Choose an account…' : `No ${PROVIDER_LABEL[kind]} account yet`) : 'Loading accounts…'}</option>
                {usable.map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.name}
                  </option>
                ))}
              </select>
            </label>
            {accounts && usable.length === 0 && (
              <p className="hint">
                <Link href="/cloud-accounts">Add a {PROVIDER_LABEL[kind]} account</Link> first.
              </p>
            )}
            <ErrorNote error={accountsError} />
            <p className="hint">The controller finds the instance, its VPC, route tables and networks from the public IP.</p>
          </>
        )}
        <ErrorNote error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Registering…' : 'Register gateway'}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function agentCommand(controllerUrl: string, gatewayId: string, secret: string): string {
  return [`CONTROLLER_URL=${controllerUrl} \\`, `GATEWAY_ID=${gatewayId} \\`, `GATEWAY_SECRET=${secret} \\`, `VICI_SOCKET=/var/run/charon.vici \\`, `npm run agent`].join('\n');
}

function SecretDialog({ gateway, secret, agentUrl, rotated, onClose }: { gateway: Gateway; secret: string; agentUrl: string | null; rotated: boolean; onClose: () => void }) {
  // The controller says where its agents dial (AGENT_PUBLIC_URL or its agent listener); a guess otherwise.
  const [url, setUrl] = useState(() => agentUrl ?? defaultAgentUrl());
  const [copied, setCopied] = useState<'' | 'copied' | 'selected'>('');
  const pre = useRef<HTMLPreElement>(null);
  const command = agentCommand(url, gateway.id, secret);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      setCopied('copied');
    } catch {
      // No clipboard outside a secure context (plain HTTP off loopback): select it for Ctrl+C.
      const range = document.createRange();
      if (pre.current) range.selectNodeContents(pre.current);
      window.getSelection()?.removeAllRanges();
      window.getSelection()?.addRange(range);
      setCopied('selected');
    }
  };
  return (
    <Dialog label="Agent secret" title={rotated ? `New agent secret for ${gateway.name}` : `${gateway.name} is registered`} onClose={onClose} wide>
      <p>
        <strong>This secret is shown once.</strong> The controller keeps only its hash. {rotated ? 'The old secret stopped working: restart the agent with this one.' : 'Start the agent at the site with it:'}
      </p>
      <label>
        The controller's agent address, as the site reaches it
        <input value={url} onChange={(e) => setUrl(e.target.value)} spellCheck={false} />
      </label>
      <pre className="command" aria-label="Command to start the agent" ref={pre}>
        {command}
      </pre>
      <div className="actions">
        <button type="button" className="primary" onClick={() => void copy()}>
          {copied === 'copied' ? 'Copied' : 'Copy command'}
        </button>
        <button type="button" onClick={onClose} data-autofocus>
          Done
        </button>
      </div>
      {copied === 'selected' && (
        <p role="status">The browser allows no clipboard access here: the command is selected, press Ctrl+C (⌘C) to copy it.</p>
      )}
      <p className="hint">
        Use <code>https://</code> when the controller's agent listener is reachable from other machines (see the README's Security section).
      </p>
    </Dialog>
  );
}

function EditDialog({ gateway, onClose }: { gateway: Gateway; onClose: () => void }) {
  const store = useStore();
  const [name, setName] = useState(gateway.name);
  const [cidrs, setCidrs] = useState(gateway.cidrs.join(', '));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const nextCidrs = splitList(cidrs);
    const change = {
      ...(name.trim() !== gateway.name ? { name: name.trim() } : {}),
      ...(gateway.provider === 'onprem' && nextCidrs.join(',') !== gateway.cidrs.join(',') ? { cidrs: nextCidrs } : {}),
    };
    if (Object.keys(change).length === 0) return onClose();
    setBusy(true);
    setError(undefined);
    try {
      store.gatewayChanged(await apiClient.updateGateway(gateway.id, change));
      onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog label="Edit gateway" title={`Edit ${gateway.name}`} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} className="form">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} />
        </label>
        {gateway.provider === 'onprem' ? (
          <label>
            Networks (CIDRs)
            <input value={cidrs} onChange={(e) => setCidrs(e.target.value)} required spellCheck={false} />
          </label>
        ) : (
          <p className="hint">A cloud gateway's networks are its VPC's CIDR blocks, found by discovery.</p>
        )}
        <ErrorNote error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Save
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteDialog({ gateway, onClose }: { gateway: Gateway; onClose: () => void }) {
  const store = useStore();
  const links = useLive((s) => s.mesh.links);
  const own = [...links.values()].filter((l) => l.state !== 'deleted' && (l.a.id === gateway.id || l.b.id === gateway.id));
  const remove = async () => {
    await apiClient.deleteGateway(gateway.id);
    store.gatewayRemoved(gateway.id);
    onClose();
  };
  return (
    <ConfirmDialog label="Delete gateway" title={`Delete ${gateway.name}?`} confirm="Delete gateway" onConfirm={remove} onClose={onClose}>
      <p>Its agent is disconnected and refused from then on.</p>
      {own.length > 0 && (
        <p>
          It is used by {own.length} link{own.length === 1 ? '' : 's'} ({own.map((l) => `${l.a.name} ⇄ ${l.b.name}`).join('; ')}): delete {own.length === 1 ? 'it' : 'them'} first.
        </p>
      )}
    </ConfirmDialog>
  );
}

function RotateDialog({ gateway, onClose, onRotated }: { gateway: Gateway; onClose: () => void; onRotated: (secret: string, agentUrl: string | null) => void }) {
  const rotate = async () => {
    const rotated = await apiClient.rotateSecret(gateway.id);
    onRotated(rotated.agentSecret, rotated.agentUrl);
  };
  return (
    <ConfirmDialog label="Rotate agent secret" title={`Rotate the agent secret of ${gateway.name}?`} confirm="Rotate secret" kind="primary" onConfirm={rotate} onClose={onClose}>
      <p>The current secret stops working at once: the agent is disconnected until it is restarted with the new one. Tunnels keep running meanwhile.</p>
    </ConfirmDialog>
  );
}
