// The caller's role (GET /api/whoami), asked again whenever the token changes, so the console shows
// only what the role may do. The controller decides regardless: an unknown role (not asked yet, or
// a controller without /api/whoami) shows everything, and a refused action shows the 403's words.
import { useEffect, useSyncExternalStore } from 'react';
import { apiClient, type Role } from './client';
import { getToken, onTokenChange } from './auth';
// The controller's own grant table (api/roles.ts imports nothing): the console cannot drift from it.
import { allows, type Access } from '../../../api/roles';

export type { Access };

type Listener = () => void;
const listeners = new Set<Listener>();
let role: Role | null = null;
let askedWith: string | null | undefined;
let asking: Promise<void> | undefined;

function emit(): void {
  for (const listener of [...listeners]) listener();
}

/** Asks the controller who we are, once per token. */
export function refreshRole(): Promise<void> {
  const token = getToken();
  if (askedWith === token && asking) return asking;
  askedWith = token;
  asking = apiClient.whoami().then(
    (me) => {
      if (askedWith !== token) return;
      role = me.role;
      emit();
    },
    () => {
      if (askedWith !== token) return;
      role = null;
      emit();
    },
  );
  return asking;
}

/** For tests: forget what was asked. */
export function resetRole(): void {
  role = null;
  askedWith = undefined;
  asking = undefined;
  emit();
}

function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  const off = onTokenChange(() => void refreshRole());
  return () => {
    listeners.delete(listener);
    off();
  };
}

/** The caller's role, or null while it is not known. */
export function useRole(): Role | null {
  const current = useSyncExternalStore(subscribe, () => role);
  useEffect(() => {
    void refreshRole();
  }, []);
  return current;
}

export const roleAllows = (r: Role | null, access: Access): boolean => r === null || allows(r, access);

/** Whether the caller may do what `access` needs (true while the role is unknown). */
export function useCan(access: Access): boolean {
  return roleAllows(useRole(), access);
}
