// Removes what a crashed earlier run of a fixture left behind: processes inside its namespaces, the
// namespaces (which takes their veths along), the root-namespace link and the temp directory.
import { execFileSync } from 'node:child_process';
import { run } from './exec';
import { assertFixtureId, baseDirFor, rootLinkName } from './plan';

function sweepScript(prefix: string): string {
  assertFixtureId(prefix);
  return [
    'pids=""',
    `for ns in $(ip netns list | awk '{print $1}' | grep '^${prefix}-' || true); do`,
    '  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; pids="$pids $pid"; done',
    '  ip netns del "$ns" 2>/dev/null || true',
    'done',
    // SIGKILL is asynchronous: wait (up to ~2 s) so callers never see the processes linger; a
    // zombie counts as gone (its parent, maybe us, reaps it later).
    'for pid in $pids; do i=0',
    '  while [ -e "/proc/$pid" ] && ! grep -q "^State:[[:space:]]*Z" "/proc/$pid/status" 2>/dev/null && [ $i -lt 40 ]; do sleep 0.05; i=$((i+1)); done',
    'done',
    `ip link del ${rootLinkName(prefix)} 2>/dev/null || true`,
    `rm -rf '${baseDirFor(prefix)}'`,
  ].join('\n');
}

/** Removes every namespace, process, link and directory a fixture with this id may have left. */
export async function sweepStale(prefix: string): Promise<void> {
  await run('sh', ['-c', sweepScript(prefix)]);
}

/** The same, synchronously, for process 'exit' handlers where nothing async runs any more. */
export function sweepStaleSync(prefix: string): void {
  execFileSync('sh', ['-c', sweepScript(prefix)], { stdio: 'ignore', timeout: 10_000 });
}
