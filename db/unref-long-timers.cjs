// Preloaded (NODE_OPTIONS=--require) into the Prisma CLI processes that db/prisma-cli.ts spawns.
// Prisma 6.19's WASM schema engine arms a 10 s timer for the PostgreSQL advisory lock of
// `migrate deploy` and never clears it, so the CLI lingers ~10 s after finishing. An unref'd timer
// still fires while the lock query is pending (its socket keeps the process alive), so the timeout
// keeps working; it just no longer holds an idle process open.
'use strict';
const originalSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = function setTimeout(callback, ms, ...args) {
  const timer = originalSetTimeout(callback, ms, ...args);
  if (typeof ms === 'number' && ms >= 10_000 && typeof timer?.unref === 'function') timer.unref();
  return timer;
};
