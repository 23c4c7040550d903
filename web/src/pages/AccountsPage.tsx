// Cloud accounts: where the controller's cloud credentials come from. Keys go in once and are
// never shown back (the API answers only whether keys are stored).
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { apiClient, type CloudAccount } from '../api/client';
import { Dialog } from '../ui/Dialog';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { ErrorNote, Loading } from '../ui/Status';
import { PROVIDER_LABEL } from '../ui/labels';
import { useCan } from '../api/role';

export default function AccountsPage() {
  const [accounts, setAccounts] = useState<CloudAccount[]>();
  const [error, setError] = useState<unknown>();
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<CloudAccount>();
  // Cloud accounts' writes are an admin's (api/roles.ts).
  const canAdmin = useCan('admin');

  const load = useCallback(() => {
    setError(undefined);
    apiClient.listAccounts().then(setAccounts, setError);
  }, []);
  useEffect(load, [load]);

  return (
    <section className="page" aria-labelledby="acc-title">
      <div className="page-head">
        <h1 id="acc-title">Cloud accounts</h1>
        {canAdmin && (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add account
          </button>
        )}
      </div>
      <p className="hint">Cloud gateways are discovered and routed with these credentials. Keys are encrypted at rest and never shown again; without keys the provider's default chain (environment, instance role) is used.</p>
      <ErrorNote error={error}>
        <button type="button" onClick={load}>
          Try again
        </button>
      </ErrorNote>
      {!accounts && !error && <Loading what="cloud accounts" />}
      {accounts?.length === 0 && <p>No cloud accounts. On-prem gateways need none.</p>}
      {accounts && accounts.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Provider</th>
              <th scope="col">Credentials</th>
              <th scope="col">Endpoints</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {accounts.map((a) => (
              <tr key={a.id}>
                <th scope="row">
                  {a.name}
                  <div className="hint mono">{a.id}</div>
                </th>
                <td>{PROVIDER_LABEL[a.provider]}</td>
                <td>{a.credentials}</td>
                <td className="mono">
                  {Object.entries(a.endpoints)
                    .map(([k, v]) => `${k}: ${v}`)
                    .join(', ') || 'provider default'}
                </td>
                <td className="row-actions">
                  {canAdmin && (
                    <button type="button" className="danger" onClick={() => setDeleting(a)} aria-label={`Delete account ${a.name}`}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {adding && (
        <AddAccount
          onClose={() => setAdding(false)}
          onAdded={() => {
            setAdding(false);
            load();
          }}
        />
      )}
      {deleting && (
        <DeleteAccount
          account={deleting}
          onClose={() => setDeleting(undefined)}
          onDeleted={() => {
            setDeleting(undefined);
            load();
          }}
        />
      )}
    </section>
  );
}

function AddAccount({ onClose, onAdded }: { onClose: () => void; onAdded: () => void }) {
  const [name, setName] = useState('');
  const [provider, setProvider] = useState<'aliyun' | 'aws'>('aliyun');
  const [withKeys, setWithKeys] = useState(true);
  const [keyId, setKeyId] = useState('');
  const [keySecret, setKeySecret] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await apiClient.createAccount({ name: name.trim(), provider, ...(withKeys ? { credentials: { accessKeyId: keyId.trim(), accessKeySecret: keySecret } } : {}) });
      // The keys leave the page's memory with the dialog.
      setKeySecret('');
      onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog label="Add cloud account" onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} className="form">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} placeholder="prod-aliyun" data-autofocus />
        </label>
        <label>
          Provider
          <select value={provider} onChange={(e) => setProvider(e.target.value as 'aliyun' | 'aws')}>
            <option value="aliyun">Alibaba Cloud</option>
            <option value="aws">AWS</option>
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={!withKeys} onChange={(e) => setWithKeys(!e.target.checked)} /> No keys: use the provider's default chain (environment variables, instance {provider === 'aws' ? 'IAM' : 'RAM'} role)
        </label>
        {withKeys && (
          <>
            <label>
              Access key ID
              <input value={keyId} onChange={(e) => setKeyId(e.target.value)} required autoComplete="off" spellCheck={false} />
            </label>
            <label>
              {provider === 'aws' ? 'Secret access key' : 'Access key secret'}
              <input type="password" value={keySecret} onChange={(e) => setKeySecret(e.target.value)} required autoComplete="off" />
            </label>
          </>
        )}
        <ErrorNote error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Add account
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteAccount({ account, onClose, onDeleted }: { account: CloudAccount; onClose: () => void; onDeleted: () => void }) {
  const remove = async () => {
    await apiClient.deleteAccount(account.id);
    onDeleted();
  };
  return (
    <ConfirmDialog label="Delete cloud account" title={`Delete ${account.name}?`} confirm="Delete account" onConfirm={remove} onClose={onClose}>
      <p>Gateways that use it must be deleted first.</p>
    </ConfirmDialog>
  );
}
