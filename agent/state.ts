// The agent's last applied config, on disk, so a restart restores tunnels without the controller.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { LinkConfig } from '../protocol/messages';
import { ensurePrivateDir, narrowPrivateFile, writePrivateFile } from './private-file';

const StateFile = z.object({ version: z.literal(1), links: z.record(z.string(), LinkConfig) });
type StateFile = z.infer<typeof StateFile>;

export class StateStore {
  private readonly file: string;
  private state: StateFile = { version: 1, links: {} };

  constructor(dir: string) {
    this.file = path.join(dir, 'links.json');
  }

  /**
   * Loads the saved state; a missing file is an empty state, a corrupt one is an error. Creates
   * STATE_DIR private (0700), and narrows what an older version left readable by others.
   */
  async load(): Promise<void> {
    await ensurePrivateDir(path.dirname(this.file));
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const r = StateFile.safeParse(JSON.parse(text));
    if (!r.success) throw new Error(`${this.file} is not a valid agent state file; move it away to start empty`);
    this.state = r.data;
    await narrowPrivateFile(this.file);
  }

  links(): LinkConfig[] {
    return Object.values(this.state.links);
  }

  get(name: string): LinkConfig | undefined {
    return this.state.links[name];
  }

  async put(link: LinkConfig): Promise<void> {
    this.state = { ...this.state, links: { ...this.state.links, [link.name]: link } };
    await this.save();
  }

  async delete(name: string): Promise<void> {
    if (!(name in this.state.links)) return;
    const { [name]: _gone, ...rest } = this.state.links;
    this.state = { ...this.state, links: rest };
    await this.save();
  }

  /** Atomic, private replace: a crash leaves either the old or the new file, and only the agent reads it. */
  private async save(): Promise<void> {
    await ensurePrivateDir(path.dirname(this.file));
    await writePrivateFile(this.file, JSON.stringify(this.state));
  }
}
