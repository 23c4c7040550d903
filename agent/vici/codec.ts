// VICI wire format (strongSwan src/libcharon/plugins/vici/README.md): a 4-byte big-endian length,
// then a packet (type byte, optional 1-byte-length name, optional message). Messages are a flat
// sequence of typed elements that build a tree of sections, key/values and lists.
import { ViciProtocolError } from './errors';

export const PacketType = {
  CMD_REQUEST: 0,
  CMD_RESPONSE: 1,
  CMD_UNKNOWN: 2,
  EVENT_REGISTER: 3,
  EVENT_UNREGISTER: 4,
  EVENT_CONFIRM: 5,
  EVENT_UNKNOWN: 6,
  EVENT: 7,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

export const ElementType = {
  SECTION_START: 1,
  SECTION_END: 2,
  KEY_VALUE: 3,
  LIST_START: 4,
  LIST_ITEM: 5,
  LIST_END: 6,
} as const;
export type ElementType = (typeof ElementType)[keyof typeof ElementType];

/** charon refuses (and never sends) segments longer than this. */
export const MAX_SEGMENT_BYTES = 512 * 1024;
const MAX_NAME_BYTES = 0xff;
const MAX_VALUE_BYTES = 0xffff;

export type ViciValue = string | string[] | ViciMessage;
export interface ViciMessage {
  [key: string]: ViciValue;
}

export type ViciPacket =
  | { type: typeof PacketType.CMD_REQUEST; name: string; message: ViciMessage }
  | { type: typeof PacketType.CMD_RESPONSE; message: ViciMessage }
  | { type: typeof PacketType.CMD_UNKNOWN }
  | { type: typeof PacketType.EVENT_REGISTER; name: string }
  | { type: typeof PacketType.EVENT_UNREGISTER; name: string }
  | { type: typeof PacketType.EVENT_CONFIRM }
  | { type: typeof PacketType.EVENT_UNKNOWN }
  | { type: typeof PacketType.EVENT; name: string; message: ViciMessage };

// ---------------------------------------------------------------------------------------------
// Friendly input: numbers and booleans converted the way swanctl writes them.

export type ViciInputScalar = string | number | bigint | boolean;
export type ViciInputValue = ViciInputScalar | readonly ViciInputScalar[] | ViciInput | undefined;
export interface ViciInput {
  readonly [key: string]: ViciInputValue;
}

/** charon parses booleans from "yes"/"no" (also true/false, but swanctl sends yes/no). */
export function viciBool(value: boolean): 'yes' | 'no' {
  return value ? 'yes' : 'no';
}

function scalarToString(value: ViciInputScalar): string {
  if (typeof value === 'boolean') return viciBool(value);
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new ViciProtocolError(`cannot encode non-finite number ${value}`);
  }
  return String(value);
}

/** Turns numbers/booleans into VICI strings and drops undefined keys, recursively. */
export function toViciMessage(input: ViciInput): ViciMessage {
  const out: ViciMessage = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      out[key] = (value as readonly ViciInputScalar[]).map(scalarToString);
    } else if (typeof value === 'object') {
      out[key] = toViciMessage(value as ViciInput);
    } else {
      out[key] = scalarToString(value);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding.

/** Collects byte chunks; avoids re-copying while a message is built. */
class ByteWriter {
  private readonly parts: Buffer[] = [];
  length = 0;

  u8(value: number): void {
    this.push(Buffer.of(value));
  }

  name(name: string, what: string): void {
    const bytes = Buffer.from(name, 'utf8');
    if (bytes.length > MAX_NAME_BYTES) {
      throw new ViciProtocolError(`${what} name longer than ${MAX_NAME_BYTES} bytes: ${name.slice(0, 40)}…`);
    }
    this.u8(bytes.length);
    this.push(bytes);
  }

  value(value: string, key: string): void {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > MAX_VALUE_BYTES) {
      throw new ViciProtocolError(`value of "${key}" longer than ${MAX_VALUE_BYTES} bytes`);
    }
    const len = Buffer.alloc(2);
    len.writeUInt16BE(bytes.length);
    this.push(len);
    this.push(bytes);
  }

  push(bytes: Buffer): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

function writeSection(writer: ByteWriter, msg: ViciMessage): void {
  for (const [key, value] of Object.entries(msg)) {
    if (typeof value === 'string') {
      writer.u8(ElementType.KEY_VALUE);
      writer.name(key, 'key');
      writer.value(value, key);
    } else if (Array.isArray(value)) {
      writer.u8(ElementType.LIST_START);
      writer.name(key, 'list');
      for (const item of value) {
        if (typeof item !== 'string') throw new ViciProtocolError(`list "${key}" holds a non-string item`);
        writer.u8(ElementType.LIST_ITEM);
        writer.value(item, key);
      }
      writer.u8(ElementType.LIST_END);
    } else if (typeof value === 'object' && value !== null) {
      writer.u8(ElementType.SECTION_START);
      writer.name(key, 'section');
      writeSection(writer, value);
      writer.u8(ElementType.SECTION_END);
    } else {
      throw new ViciProtocolError(`key "${key}" has a ${typeof value} value; use toViciMessage() first`);
    }
  }
}

/** Encodes a message body (no packet header). */
export function encodeMessage(msg: ViciMessage): Buffer {
  const w = new ByteWriter();
  writeSection(w, msg);
  return w.toBuffer();
}

function isNamed(p: ViciPacket): p is Extract<ViciPacket, { name: string }> {
  return 'name' in p;
}

/** Encodes a packet with its 4-byte length prefix, ready to write to the socket. */
export function encodePacket(packet: ViciPacket): Buffer {
  const w = new ByteWriter();
  w.push(Buffer.alloc(4)); // length placeholder
  w.u8(packet.type);
  if (isNamed(packet)) w.name(packet.name, 'packet');
  if ('message' in packet) w.push(encodeMessage(packet.message));
  const out = w.toBuffer();
  const payloadLength = out.length - 4;
  if (payloadLength > MAX_SEGMENT_BYTES) {
    throw new ViciProtocolError(`packet of ${payloadLength} bytes exceeds the ${MAX_SEGMENT_BYTES}-byte limit`);
  }
  out.writeUInt32BE(payloadLength, 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding.

class ByteReader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.offset >= this.buf.length;
  }

  u8(what: string): number {
    if (this.offset + 1 > this.buf.length) throw this.truncated(what);
    return this.buf.readUInt8(this.offset++);
  }

  name(what: string): string {
    const len = this.u8(`${what} name length`);
    return this.take(len, `${what} name`).toString('utf8');
  }

  value(what: string): string {
    if (this.offset + 2 > this.buf.length) throw this.truncated(`${what} value length`);
    const len = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return this.take(len, `${what} value`).toString('utf8');
  }

  rest(): Buffer {
    const out = this.buf.subarray(this.offset);
    this.offset = this.buf.length;
    return out;
  }

  private take(len: number, what: string): Buffer {
    if (this.offset + len > this.buf.length) throw this.truncated(what);
    const out = this.buf.subarray(this.offset, this.offset + len);
    this.offset += len;
    return out;
  }

  private truncated(what: string): ViciProtocolError {
    return new ViciProtocolError(`truncated ${what} at offset ${this.offset} of ${this.buf.length}`);
  }
}

function setKey(section: ViciMessage, key: string, value: ViciValue, at: number): void {
  // Duplicate keys are invalid per the protocol; silently keeping one would hide charon data.
  if (Object.prototype.hasOwnProperty.call(section, key)) {
    throw new ViciProtocolError(`duplicate key "${key}" at offset ${at}`);
  }
  // defineProperty keeps a key named "__proto__" an ordinary data key.
  Object.defineProperty(section, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Decodes a message body (no packet header). */
export function decodeMessage(buf: Buffer): ViciMessage {
  const r = new ByteReader(buf);
  const root: ViciMessage = {};
  const stack: ViciMessage[] = [root];
  let list: string[] | undefined;

  while (!r.done) {
    const at = r.offset;
    const type = r.u8('element type');
    const current = stack[stack.length - 1] as ViciMessage;
    if (list !== undefined && type !== ElementType.LIST_ITEM && type !== ElementType.LIST_END) {
      throw new ViciProtocolError(`element type ${type} inside a list at offset ${at}`);
    }
    switch (type) {
      case ElementType.SECTION_START: {
        const section: ViciMessage = {};
        setKey(current, r.name('section'), section, at);
        stack.push(section);
        break;
      }
      case ElementType.SECTION_END:
        if (stack.length === 1) throw new ViciProtocolError(`SECTION_END without open section at offset ${at}`);
        stack.pop();
        break;
      case ElementType.KEY_VALUE: {
        const key = r.name('key');
        setKey(current, key, r.value(`key "${key}"`), at);
        break;
      }
      case ElementType.LIST_START: {
        list = [];
        setKey(current, r.name('list'), list, at);
        break;
      }
      case ElementType.LIST_ITEM:
        if (list === undefined) throw new ViciProtocolError(`LIST_ITEM outside a list at offset ${at}`);
        list.push(r.value('list item'));
        break;
      case ElementType.LIST_END:
        if (list === undefined) throw new ViciProtocolError(`LIST_END without open list at offset ${at}`);
        list = undefined;
        break;
      default:
        throw new ViciProtocolError(`unknown element type ${type} at offset ${at}`);
    }
  }
  if (list !== undefined) throw new ViciProtocolError('message ends inside an open list');
  if (stack.length !== 1) throw new ViciProtocolError(`message ends with ${stack.length - 1} unclosed section(s)`);
  return root;
}

/** Decodes one packet payload (the bytes after the 4-byte length). */
export function decodePacket(payload: Buffer): ViciPacket {
  const r = new ByteReader(payload);
  const type = r.u8('packet type');
  const noBody = (): void => {
    if (!r.done) throw new ViciProtocolError(`packet type ${type} carries ${payload.length - r.offset} unexpected byte(s)`);
  };
  switch (type) {
    case PacketType.CMD_REQUEST:
      return { type, name: r.name('command'), message: decodeMessage(r.rest()) };
    case PacketType.CMD_RESPONSE:
      return { type, message: decodeMessage(r.rest()) };
    case PacketType.EVENT:
      return { type, name: r.name('event'), message: decodeMessage(r.rest()) };
    case PacketType.EVENT_REGISTER:
    case PacketType.EVENT_UNREGISTER: {
      const name = r.name('event');
      noBody();
      return { type, name };
    }
    case PacketType.CMD_UNKNOWN:
    case PacketType.EVENT_CONFIRM:
    case PacketType.EVENT_UNKNOWN:
      noBody();
      return { type };
    default:
      throw new ViciProtocolError(`unknown packet type ${type}`);
  }
}

/**
 * Splits a byte stream into packets. Feed it socket chunks in order; it keeps partial frames and
 * returns every complete packet. After it throws, the stream is out of sync and must be dropped.
 */
export class ViciStreamDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Bytes held back waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): ViciPacket[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const packets: ViciPacket[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const length = head.readUInt32BE(0);
      if (length === 0) throw new ViciProtocolError('zero-length segment (no packet type)');
      if (length > MAX_SEGMENT_BYTES) {
        throw new ViciProtocolError(`segment of ${length} bytes exceeds the ${MAX_SEGMENT_BYTES}-byte limit`);
      }
      if (this.buffered < 4 + length) break;
      const frame = this.consume(4 + length);
      packets.push(decodePacket(frame.subarray(4)));
    }
    return packets;
  }

  /** Copies the first n buffered bytes without consuming them. */
  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return (this.chunks[0] as Buffer).subarray(0, n);
  }

  private consume(n: number): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }
}
