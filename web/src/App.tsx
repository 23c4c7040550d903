// The console's shell: navigation, the live connection's state, the API token prompt, and the
// page for the current path. Pages other than the map are loaded on first visit.
import { lazy, Suspense, useEffect, useState, useSyncExternalStore, type FormEvent } from 'react';
import { Link, matchRoute, usePath } from './router';
import { TopologyMap } from './map/TopologyMap';
import { useLive, useStore } from './live/context';
import { onTokenChange, setToken, tokenNeeded } from './api/auth';
import { Dialog } from './ui/Dialog';
import { Loading } from './ui/Status';
import { roleAllows, useRole } from './api/role';

const LinkPage = lazy(() => import('./pages/LinkPage'));
const LinksPage = lazy(() => import('./pages/LinksPage'));
const GatewaysPage = lazy(() => import('./pages/GatewaysPage'));
const AccountsPage = lazy(() => import('./pages/AccountsPage'));
const TokensPage = lazy(() => import('./pages/TokensPage'));
const AuditPage = lazy(() => import('./pages/AuditPage'));

const MODE_LABEL = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', polling: 'refreshing every 2 s' } as const;

export function App() {
  const store = useStore();
  const path = usePath();
  const route = matchRoute(path);
  const mode = useLive((s) => s.mode);
  const role = useRole();

  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);

  const nav = (href: string, label: string, active: boolean) => (
    <Link href={href} aria-current={active ? 'page' : undefined} className={active ? 'active' : undefined}>
      {label}
    </Link>
  );

  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">ipsec-mesh</span>
        <nav aria-label="Main">
          {nav('/', 'Map', route.page === 'map')}
          {nav('/links', 'Links', route.page === 'links' || route.page === 'link')}
          {nav('/gateways', 'Gateways', route.page === 'gateways')}
          {nav('/cloud-accounts', 'Cloud accounts', route.page === 'accounts')}
          {role === 'admin' && nav('/tokens', 'Tokens', route.page === 'tokens')}
          {roleAllows(role, 'audit') && nav('/audit', 'Audit', route.page === 'audit')}
        </nav>
        <span className={`live-mode mode-${mode}`} role="status" title={mode === 'polling' ? 'The controller has no event stream (GET /api/events answered 404): the console polls instead.' : undefined}>
          <span className="dot" aria-hidden="true" /> Updates: {MODE_LABEL[mode]}
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading what="the page" />}>
          {route.page === 'map' && <TopologyMap focus={route.focus} />}
          {route.page === 'links' && <LinksPage />}
          {route.page === 'link' && <LinkPage id={route.id} />}
          {route.page === 'gateways' && <GatewaysPage register={route.register} />}
          {route.page === 'accounts' && <AccountsPage />}
          {route.page === 'tokens' && (role === 'admin' ? <TokensPage /> : <section className="page"><h1>API tokens</h1><p>Only an admin manages API tokens{role ? `; this token's role is ${role}` : ''}.</p></section>)}
          {route.page === 'audit' &&
            (roleAllows(role, 'audit') ? (
              <AuditPage />
            ) : (
              <section className="page">
                <h1>Audit trail</h1>
                <p>Only an admin or an auditor reads the audit trail; this token's role is {role}.</p>
              </section>
            ))}
          {route.page === 'not-found' && (
            <section className="page">
              <h1>Page not found</h1>
              <p>
                Nothing lives at {path}. <Link href="/">Back to the map</Link>
              </p>
            </section>
          )}
        </Suspense>
      </main>
      <TokenPrompt />
    </div>
  );
}

/** Asks for the API token when the controller answers 401; kept for this browser tab only. */
function TokenPrompt() {
  const store = useStore();
  const needed = useSyncExternalStore(onTokenChange, tokenNeeded);
  const [value, setValue] = useState('');
  if (!needed) return null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!value.trim()) return;
    setToken(value);
    setValue('');
    void store.refresh();
  };
  return (
    <Dialog label="API token" onClose={() => undefined}>
      <form onSubmit={submit}>
        <p>This controller requires an API token (an <code>imt_…</code> token with a role, or its <code>API_TOKEN</code>). It is kept for this browser tab only, never stored on disk.</p>
        <label>
          API token
          <input type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} data-autofocus required />
        </label>
        <div className="actions">
          <button type="submit" className="primary">
            Sign in
          </button>
        </div>
      </form>
    </Dialog>
  );
}
