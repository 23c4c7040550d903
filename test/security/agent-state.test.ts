// Issue 9, item 4: the agent's state (links.json holds PSKs) is only ever readable by the agent,
// whatever it finds on disk: a planted or left-over temp file, a symlink in its place, a state
// directory or file with wider bits from an older version.
import { afterEach, describe, expect, it } from 'vitest';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StateStore } from '../../agent/state';

const link = { name: 'link-a', version: 1, localId: 'a', remoteId: 'b', localAddrs: ['%any'], remoteAddrs: ['1.2.3.4'], localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], initiator: true, psk: 'p'.repeat(40) };
const dirs: string[] = [];

async function scratch(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'agent-state-sec-'));
  dirs.push(dir);
  return dir;
}

const mode = async (file: string) => (await stat(file)).mode & 0o777;

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('state file at rest', () => {
  it('replaces a planted 0644 temp file instead of writing the PSKs into it', async () => {
    const dir = await scratch();
    const tmp = path.join(dir, `links.json.${process.pid}.tmp`);
    await writeFile(tmp, 'planted', { mode: 0o644 });
    await chmod(tmp, 0o644);
    const store = new StateStore(dir);
    await store.load();
    await store.put(link);
    expect(await mode(path.join(dir, 'links.json'))).toBe(0o600);
    expect(JSON.parse(await readFile(path.join(dir, 'links.json'), 'utf8'))).toEqual({ version: 1, links: { 'link-a': link } });
    await expect(stat(tmp)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('never follows a symlink planted as the temp file', async () => {
    const dir = await scratch();
    const elsewhere = path.join(await scratch(), 'readable.txt');
    await writeFile(elsewhere, 'untouched', { mode: 0o644 });
    await symlink(elsewhere, path.join(dir, `links.json.${process.pid}.tmp`));
    const store = new StateStore(dir);
    await store.put(link);
    expect(await readFile(elsewhere, 'utf8')).toBe('untouched');
    expect((await lstat(path.join(dir, 'links.json'))).isFile()).toBe(true);
    expect(await mode(path.join(dir, 'links.json'))).toBe(0o600);
  });

  it('is 0600 whatever the umask', async () => {
    const dir = await scratch();
    const before = process.umask(0);
    try {
      await new StateStore(dir).put(link);
    } finally {
      process.umask(before);
    }
    expect(await mode(path.join(dir, 'links.json'))).toBe(0o600);
  });

  it('creates STATE_DIR 0700, and narrows an existing one with wider bits', async () => {
    const parent = await scratch();
    const fresh = path.join(parent, 'new', 'state');
    await new StateStore(fresh).load();
    expect(await mode(fresh)).toBe(0o700);

    const wide = path.join(parent, 'wide');
    await mkdir(wide, { mode: 0o755 });
    await chmod(wide, 0o755);
    await new StateStore(wide).load();
    expect(await mode(wide)).toBe(0o700);
  });

  it('narrows a links.json an older version left readable', async () => {
    const dir = await scratch();
    await writeFile(path.join(dir, 'links.json'), JSON.stringify({ version: 1, links: { 'link-a': link } }), { mode: 0o644 });
    await chmod(path.join(dir, 'links.json'), 0o644);
    const store = new StateStore(dir);
    await store.load();
    expect(store.get('link-a')).toEqual(link);
    expect(await mode(path.join(dir, 'links.json'))).toBe(0o600);
  });
});
