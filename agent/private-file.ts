// Files only the agent may read (links.json holds PSKs, credentials.json its secret): a private
// directory, and atomic writes that never write into a file someone else could have created.
import { chmod, mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** Creates `dir` 0700, or narrows it to 0700 when it exists with bits for others and is ours. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await narrow(dir, 0o700);
}

/** Narrows an existing file to 0600 if others may read it (left so by an older version). */
export async function narrowPrivateFile(file: string): Promise<void> {
  await narrow(file, 0o600);
}

/**
 * Atomic replace of `file` with `text`, readable by the owner only, whatever the umask: a fresh
 * temp file (O_EXCL, so a planted file or symlink is never written through), fchmod 0600, fsync,
 * rename, fsync of the directory. A crash leaves the old file or the new one.
 */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await createExclusive(tmp);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(path.dirname(file));
}

/** A temp file of that name is left by a crash, or planted: either way not one to write into. */
async function createExclusive(tmp: string): Promise<FileHandle> {
  try {
    return await open(tmp, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await unlink(tmp);
    return open(tmp, 'wx', 0o600);
  }
}

async function narrow(target: string, mode: number): Promise<void> {
  const info = await stat(target);
  const ours = process.getuid === undefined || info.uid === process.getuid();
  if ((info.mode & 0o077) !== 0 && ours) await chmod(target, mode);
}

/** Makes the rename itself durable (it lives in the directory). */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
