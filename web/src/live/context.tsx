// Which LiveStore the pages read (tests give their own), and the hook that reads it.
import { createContext, useContext, useSyncExternalStore } from 'react';
import { liveStore, type LiveState, type LiveStore } from './store';

export const LiveContext = createContext<LiveStore>(liveStore);

export const useStore = (): LiveStore => useContext(LiveContext);

/** A slice of the live state; the component re-renders only when the slice's identity changes. */
export function useLive<T>(select: (state: LiveState) => T): T {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => select(store.getState()));
}
