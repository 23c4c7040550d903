// A small history-based router: the controller answers index.html for every console path, so
// /links/:id and /gateways open directly; links inside the console push history entries.
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

const listeners = new Set<() => void>();
const onPop = () => listeners.forEach((l) => l());

function subscribe(listener: () => void): () => void {
  if (listeners.size === 0) window.addEventListener('popstate', onPop);
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) window.removeEventListener('popstate', onPop);
  };
}

const current = () => window.location.pathname + window.location.search;

export function usePath(): string {
  return useSyncExternalStore(subscribe, current);
}

export function navigate(to: string, { replace = false } = {}): void {
  if (to === current()) return;
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  onPop();
}

export type Route = { page: 'map'; focus?: string } | { page: 'links' } | { page: 'link'; id: string } | { page: 'gateways'; register: boolean } | { page: 'accounts' } | { page: 'tokens' } | { page: 'audit' } | { page: 'not-found' };

export function matchRoute(path: string): Route {
  const url = new URL(path, 'http://console');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: 'map', ...(url.searchParams.get('gateway') ? { focus: url.searchParams.get('gateway')! } : {}) };
  if (parts[0] === 'links' && parts.length === 1) return { page: 'links' };
  if (parts[0] === 'links' && parts.length === 2) return { page: 'link', id: parts[1]! };
  if (parts[0] === 'gateways' && parts.length === 1) return { page: 'gateways', register: url.searchParams.has('register') };
  if (parts[0] === 'cloud-accounts' && parts.length === 1) return { page: 'accounts' };
  if (parts[0] === 'tokens' && parts.length === 1) return { page: 'tokens' };
  if (parts[0] === 'audit' && parts.length === 1) return { page: 'audit' };
  return { page: 'not-found' };
}

/** An <a> that navigates inside the console (a modified click still opens a new tab). */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const click = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={click} {...rest} />;
}
