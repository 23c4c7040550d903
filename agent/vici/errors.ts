// Errors raised by the VICI codec and client. One class with a code keeps callers' checks simple
// (`err instanceof ViciError && err.code === 'TIMEOUT'`) while the message stays human-readable.

export type ViciErrorCode =
  /** charon answered `success = no`; `errmsg` carries its reason. */
  | 'COMMAND_FAILED'
  /** charon has no handler for the command (CMD_UNKNOWN). */
  | 'UNKNOWN_COMMAND'
  /** charon has no source for the event (EVENT_UNKNOWN). */
  | 'UNKNOWN_EVENT'
  /** no reply within the request's timeout. */
  | 'TIMEOUT'
  /** the connection closed (or was closed) before a reply came. */
  | 'CLOSED'
  /** the VICI socket could not be opened (charon not running, wrong path, no permission). */
  | 'CONNECT_FAILED'
  /** bytes on the wire do not follow the VICI protocol. */
  | 'PROTOCOL';

export class ViciError extends Error {
  override readonly name: string = 'ViciError';
  readonly code: ViciErrorCode;
  /** The command or event name the error belongs to, when there is one. */
  readonly command: string | undefined;
  /** charon's own error text for COMMAND_FAILED. */
  readonly errmsg: string | undefined;

  constructor(code: ViciErrorCode, message: string, opts: { command?: string; errmsg?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.command = opts.command;
    this.errmsg = opts.errmsg;
  }
}

/** Malformed input on the wire; the stream cannot be trusted after one of these. */
export class ViciProtocolError extends ViciError {
  override readonly name: string = 'ViciProtocolError';

  constructor(message: string) {
    super('PROTOCOL', message);
  }
}
