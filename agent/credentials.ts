// The agent's secret and where it comes from: GATEWAY_SECRET if set; else STATE_DIR/credentials.json
// if it is for this gateway; else a single-use ENROLMENT_TOKEN, exchanged with the controller once
// and replaced by the secret it buys (kept in credentials.json from then on). Never logged.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../lib/env';
import { EnrolAnswer, enrolHeader } from '../protocol/messages';
import type { Logger } from '../lib/log';
import { enrolEndpoint } from './endpoints';
import { EnrolmentRejectedError } from './errors';
import { retryLaterFor } from './retry';
import { ensurePrivateDir, narrowPrivateFile, writePrivateFile } from './private-file';
import { isCleartextOffLoopback, type ControllerTransport } from './transport';

const CredentialsFile = z.object({ version: z.literal(1), gatewayId: z.string(), secret: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/) });

export type CredentialSource = 'GATEWAY_SECRET' | 'credentials.json' | 'enrolment';

export interface CredentialsOptions {
  gatewayId: string;
  /** GATEWAY_SECRET. */
  secret?: string;
  /** ENROLMENT_TOKEN. */
  enrolmentToken?: string;
  /** STATE_DIR, where credentials.json lives; without it the agent keeps no credentials. */
  stateDir?: string;
  log: Logger;
}

export class Credentials {
  private current?: { secret: string; source: CredentialSource };
  private loaded = false;
  private readonly file?: string;

  constructor(private readonly o: CredentialsOptions) {
    if (o.stateDir) this.file = path.join(o.stateDir, 'credentials.json');
  }

  get gatewayId(): string {
    return this.o.gatewayId;
  }

  /** The secret to authenticate with; undefined until enrolment succeeded. */
  get secret(): string | undefined {
    return this.current?.secret;
  }

  get source(): CredentialSource | undefined {
    return this.current?.source;
  }

  /** Decides where the secret comes from, once, at start; a ConfigError when nothing can supply one. */
  async load(): Promise<void> {
    if (this.loaded) return;
    if (this.o.secret) {
      this.current = { secret: this.o.secret, source: 'GATEWAY_SECRET' };
    } else {
      const stored = await this.readStored();
      if (stored) this.current = { secret: stored, source: 'credentials.json' };
      else if (!this.o.enrolmentToken) {
        throw new ConfigError(
          `invalid configuration:\n  GATEWAY_SECRET: not set, ${this.file ?? 'STATE_DIR/credentials.json'} holds no credentials for gateway ${this.o.gatewayId}, and ENROLMENT_TOKEN is not set: ` +
            `set ENROLMENT_TOKEN to a token from POST /api/gateways/${this.o.gatewayId}/enrolment-token (or GATEWAY_SECRET to the gateway's agent secret)`,
        );
      }
    }
    this.loaded = true;
  }

  /**
   * Exchanges the enrolment token at the controller `base` for the agent's secret and keeps it in
   * credentials.json. Throws EnrolmentRejectedError on 401 (final), RetryLaterError on 429/503.
   */
  async enrol(base: string, transport: ControllerTransport, signal?: AbortSignal): Promise<void> {
    const token = this.o.enrolmentToken;
    if (!token) throw new Error('no ENROLMENT_TOKEN to enrol with');
    const url = enrolEndpoint(base);
    this.o.log.info('enrolling with the controller', { url: url.href });
    if (isCleartextOffLoopback(url)) this.o.log.warn('enrolment is cleartext: the token and the secret it buys can be read on the way', { url: url.href });
    const answer = await transport.post(url, { authorization: enrolHeader(this.o.gatewayId, token) }, { timeoutMs: 15_000, ...(signal ? { signal } : {}) });
    if (answer.status === 401) {
      throw new EnrolmentRejectedError(
        `controller ${url.host} refused the enrolment token of gateway ${this.o.gatewayId} (401): the token is invalid, expired or already used; ` +
          `ask the operator for a new one (POST /api/gateways/${this.o.gatewayId}/enrolment-token) and set ENROLMENT_TOKEN; not retrying`,
      );
    }
    const later = retryLaterFor(answer.status, answer.headers['retry-after'], `enrolment at ${url.host}`);
    if (later) throw later;
    if (answer.status !== 200) throw new Error(`enrolment at ${url.host}: controller answered HTTP ${answer.status}`);
    const parsed = EnrolAnswer.safeParse(safeJson(answer.body));
    if (!parsed.success || parsed.data.gatewayId !== this.o.gatewayId) throw new Error(`enrolment at ${url.host}: the answer is not a secret for gateway ${this.o.gatewayId}`);
    // Kept before use: the token is spent now, and a restart must not need it again.
    if (this.file) {
      await ensurePrivateDir(path.dirname(this.file));
      await writePrivateFile(this.file, JSON.stringify({ version: 1, gatewayId: this.o.gatewayId, secret: parsed.data.secret }));
    }
    this.current = { secret: parsed.data.secret, source: 'enrolment' };
    this.o.log.info('enrolled; credentials saved', { file: this.file });
  }

  /**
   * Reads credentials.json again (not GATEWAY_SECRET, which only a restart changes): an operator
   * who received a rotated secret can write it there without restarting the agent. True when it
   * now holds another secret, which is used from then on.
   */
  async reloadStored(): Promise<boolean> {
    if (this.current?.source === 'GATEWAY_SECRET') return false;
    const stored = await this.readStored().catch(() => undefined);
    if (!stored || stored === this.current?.secret) return false;
    this.current = { secret: stored, source: 'credentials.json' };
    return true;
  }

  /** How to give the agent a rotated secret, depending on where its secret comes from. */
  rotationHint(): string {
    const restart = 'restart the agent with GATEWAY_SECRET set to the new secret';
    if (this.current?.source === 'GATEWAY_SECRET' || !this.file) return restart;
    return `write the new secret into ${this.file} ({"version":1,"gatewayId":"${this.o.gatewayId}","secret":"<new secret>"}; the agent re-reads it before each attempt), or ${restart}`;
  }

  /** How to fix a 401 on the WebSocket, depending on where the refused secret came from. */
  rejectionHint(): string {
    if (this.current?.source === 'GATEWAY_SECRET') return 'check GATEWAY_ID and GATEWAY_SECRET';
    return `the secret in ${this.file ?? 'credentials.json'} is no longer valid: remove that file and set ENROLMENT_TOKEN to a new token (POST /api/gateways/${this.o.gatewayId}/enrolment-token)`;
  }

  private async readStored(): Promise<string | undefined> {
    if (!this.file) return undefined;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const parsed = CredentialsFile.safeParse(safeJson(text));
    if (!parsed.success) throw new ConfigError(`invalid configuration:\n  STATE_DIR: ${this.file} is not a valid credentials file; move it away and enrol again with a new ENROLMENT_TOKEN`);
    await narrowPrivateFile(this.file);
    if (parsed.data.gatewayId !== this.o.gatewayId) {
      this.o.log.warn('credentials.json is for another gateway; ignoring it', { file: this.file, holds: parsed.data.gatewayId });
      return undefined;
    }
    return parsed.data.secret;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
