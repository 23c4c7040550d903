// API tokens (admins): the list without secrets, issuing one (shown this once), revoking one.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { apiClient, type ApiToken, type IssuedApiToken, type Role } from '../api/client';
import { Dialog } from '../ui/Dialog';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { ErrorNote, Loading } from '../ui/Status';

const ROLE_HELP: Record<Role, string> = {
  admin: 'everything, tokens and cloud accounts included',
  operator: 'gateways, links and changes',
  viewer: 'read only, never a secret',
  auditor: 'read only, and the audit log',
};

const when = (at: string | null, none: string) => (at ? new Date(at).toLocaleString() : none);

export default function TokensPage() {
  const [tokens, setTokens] = useState<ApiToken[]>();
  const [error, setError] = useState<unknown>();
  const [adding, setAdding] = useState(false);
  const [issued, setIssued] = useState<IssuedApiToken>();
  const [revoking, setRevoking] = useState<ApiToken>();

  const load = useCallback(() => {
    setError(undefined);
    apiClient.listTokens().then(setTokens, setError);
  }, []);
  useEffect(load, [load]);

  return (
    <section className="page" aria-labelledby="tok-title">
      <div className="page-head">
        <h1 id="tok-title">API tokens</h1>
        <button type="button" className="primary" onClick={() => setAdding(true)}>
          Create token
        </button>
      </div>
      <p className="hint">Each token has a role. A token is shown once, when it is created; the controller keeps only its hash.</p>
      <ErrorNote error={error}>
        <button type="button" onClick={load}>
          Try again
        </button>
      </ErrorNote>
      {!tokens && !error && <Loading what="API tokens" />}
      {tokens?.length === 0 && <p>No API tokens yet.</p>}
      {tokens && tokens.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Token</th>
              <th scope="col">Created by</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id}>
                <th scope="row">
                  {t.name}
                  <div className="hint mono">{t.id}</div>
                </th>
                <td>{t.role}</td>
                <td className="mono">{t.prefix}</td>
                <td>{t.createdBy}</td>
                <td>{when(t.lastUsedAt, 'never')}</td>
                <td>{when(t.expiresAt, 'never')}</td>
                <td>{t.state}</td>
                <td className="row-actions">
                  {t.state !== 'revoked' && (
                    <button type="button" className="danger" onClick={() => setRevoking(t)} aria-label={`Revoke token ${t.name}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {adding && (
        <CreateToken
          onClose={() => setAdding(false)}
          onCreated={(token) => {
            setAdding(false);
            setIssued(token);
            load();
          }}
        />
      )}
      {issued && <ShowToken token={issued} onClose={() => setIssued(undefined)} />}
      {revoking && (
        <RevokeToken
          token={revoking}
          onClose={() => setRevoking(undefined)}
          onRevoked={() => {
            setRevoking(undefined);
            load();
          }}
        />
      )}
    </section>
  );
}

function CreateToken({ onClose, onCreated }: { onClose: () => void; onCreated: (token: IssuedApiToken) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [days, setDays] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onCreated(await apiClient.createToken({ name: name.trim(), role, ...(days.trim() ? { expiresInDays: Number(days) } : {}) }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog label="Create API token" onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} data-autofocus />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {(Object.keys(ROLE_HELP) as Role[]).map((r) => (
              <option key={r} value={r}>
                {r}: {ROLE_HELP[r]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Expires after (days, empty: never)
          <input type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <ErrorNote error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Create
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ShowToken({ token, onClose }: { token: IssuedApiToken; onClose: () => void }) {
  return (
    <Dialog label="New API token" title={`Token for ${token.name} (${token.role})`} onClose={onClose} wide>
      <p>Copy it now: it is shown this once. Send it as <code>Authorization: Bearer …</code>.</p>
      <pre className="secret mono">{token.token}</pre>
      <div className="actions">
        <button type="button" onClick={() => void navigator.clipboard?.writeText(token.token)}>
          Copy
        </button>
        <button type="button" className="primary" onClick={onClose} data-autofocus>
          Done
        </button>
      </div>
    </Dialog>
  );
}

function RevokeToken({ token, onClose, onRevoked }: { token: ApiToken; onClose: () => void; onRevoked: () => void }) {
  const revoke = async () => {
    await apiClient.revokeToken(token.id);
    onRevoked();
  };
  return (
    <ConfirmDialog label="Revoke API token" confirm="Revoke" onConfirm={revoke} onClose={onClose}>
      <p>
        Revoke <strong>{token.name}</strong> ({token.role})? It stops working at once on this controller and within seconds on the others.
      </p>
    </ConfirmDialog>
  );
}
