// The API token, when the controller asks for one (API_TOKEN): kept in sessionStorage only, so it
// is gone when the tab closes. A 401 anywhere asks the user for it (App shows the token dialog).
const KEY = 'ipsec-mesh.apiToken';

type Listener = () => void;
const listeners = new Set<Listener>();
let needed = false;

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
  needed = false;
  emit();
}

/** Called on a 401: the token is missing or wrong. */
export function tokenRejected(): void {
  if (needed) return;
  needed = true;
  emit();
}

export const tokenNeeded = (): boolean => needed;

export function onTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(): void {
  for (const listener of [...listeners]) listener();
}

export function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}
