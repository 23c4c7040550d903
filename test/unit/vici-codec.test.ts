// The VICI codec against bytes captured from a real charon 5.9.8 (test/fixtures/vici/capture.ts),
// plus round trips and malformed input.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  decodePacket,
  encodeMessage,
  encodePacket,
  MAX_SEGMENT_BYTES,
  PacketType,
  toViciMessage,
  viciBool,
  ViciStreamDecoder,
  type ViciMessage,
  type ViciPacket,
} from '../../agent/vici/codec';
import { parseIkeSa, parseListSaEvent } from '../../agent/vici/commands';
import { ViciError, ViciProtocolError } from '../../agent/vici/errors';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'vici');
const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));
const ALL_FIXTURES = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.bin'));

/** Splits a capture into its frames (4-byte length + payload) without using the decoder. */
function frames(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < buf.length; ) {
    const len = 4 + buf.readUInt32BE(off);
    out.push(buf.subarray(off, off + len));
    off += len;
  }
  return out;
}

function decodeAll(buf: Buffer): ViciPacket[] {
  return new ViciStreamDecoder().push(buf);
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

function messageOf(p: ViciPacket): ViciMessage {
  if (!('message' in p)) throw new Error(`packet type ${p.type} has no message`);
  return p.message;
}

describe('decoding bytes captured from charon', () => {
  it('reads a version response', () => {
    const p = only(decodeAll(fixture('version-response.bin')));
    expect(p.type).toBe(PacketType.CMD_RESPONSE);
    const m = messageOf(p);
    expect(m.daemon).toBe('charon');
    expect(m.version).toMatch(/^5\.\d+\.\d+$/);
    expect(Object.keys(m)).toEqual(['daemon', 'version', 'sysname', 'release', 'machine']);
  });

  it('reads the bodiless replies: CMD_UNKNOWN, EVENT_CONFIRM, EVENT_UNKNOWN', () => {
    expect(only(decodeAll(fixture('cmd-unknown.bin')))).toEqual({ type: PacketType.CMD_UNKNOWN });
    expect(only(decodeAll(fixture('event-confirm.bin')))).toEqual({ type: PacketType.EVENT_CONFIRM });
    expect(only(decodeAll(fixture('event-unknown.bin')))).toEqual({ type: PacketType.EVENT_UNKNOWN });
  });

  it('reads the error response of a failed load-conn', () => {
    const m = messageOf(only(decodeAll(fixture('load-conn-error-response.bin'))));
    expect(m.success).toBe('no');
    expect(m.errmsg).toMatch(/proposals/);
  });

  it('reads a list-sa stream with a live SA and parses its counters', () => {
    const packets = decodeAll(fixture('list-sas-stream.bin'));
    expect(packets.map((p) => p.type)).toEqual([PacketType.EVENT, PacketType.CMD_RESPONSE]);
    const event = packets[0] as Extract<ViciPacket, { type: 7 }>;
    expect(event.name).toBe('list-sa');
    expect(messageOf(packets[1] as ViciPacket)).toEqual({});

    const [sa] = parseListSaEvent(event.message);
    expect(sa).toMatchObject({ name: 'link1', state: 'ESTABLISHED', localId: 'gw-a', remoteId: 'gw-b', initiator: true });
    expect(sa?.localHost).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const child = only(sa?.childSas ?? []);
    // charon keys CHILD_SAs "<name>-<uniqueid>"; the parser reports the config name.
    expect(child).toMatchObject({ name: 'link1', state: 'INSTALLED', mode: 'TUNNEL', protocol: 'ESP' });
    expect(child.bytesIn).toBeGreaterThan(0);
    expect(child.bytesOut).toBeGreaterThan(0);
    expect(child.packetsIn).toBeGreaterThan(0);
    expect(child.packetsOut).toBeGreaterThan(0);
    expect(child.localTs).toEqual(['10.1.0.0/24']);
    expect(child.remoteTs).toEqual(['10.2.0.0/24']);
  });

  it('reads child-updown and ike-updown events', () => {
    const up = only(decodeAll(fixture('child-updown-up-event.bin'))) as Extract<ViciPacket, { type: 7 }>;
    expect(up.name).toBe('child-updown');
    expect(up.message.up).toBe('yes');
    const { up: _flag, ...sas } = up.message;
    const [name, section] = only(Object.entries(sas));
    const sa = parseIkeSa(name, section as ViciMessage);
    expect(sa.childSas.map((c) => c.name)).toEqual(['link1']);

    const down = only(decodeAll(fixture('child-updown-down-event.bin'))) as Extract<ViciPacket, { type: 7 }>;
    expect(down.name).toBe('child-updown');
    expect(down.message.up).toBeUndefined(); // charon omits "up" when the SA goes down

    const ike = only(decodeAll(fixture('ike-updown-up-event.bin'))) as Extract<ViciPacket, { type: 7 }>;
    expect(ike.name).toBe('ike-updown');
    expect(Array.isArray((ike.message.link1 as ViciMessage)['tasks-passive'])).toBe(true);
  });

  it('reads a list-conn stream with nested auth sections and empty lists', () => {
    const packets = decodeAll(fixture('list-conns-stream.bin'));
    const conn = messageOf(packets[0] as ViciPacket).link1 as ViciMessage;
    expect(conn.local_addrs).toEqual(['%any']);
    expect((conn['local-1'] as ViciMessage).groups).toEqual([]);
    expect(Object.keys(conn.children as ViciMessage)).toEqual(['link1']);
  });
});

describe('encoding', () => {
  it.each(ALL_FIXTURES)('re-encodes %s to the identical bytes', (name) => {
    const buf = fixture(name);
    const parts = frames(buf);
    const packets = decodeAll(buf);
    expect(packets).toHaveLength(parts.length);
    packets.forEach((p, i) => expect(encodePacket(p).equals(parts[i] as Buffer)).toBe(true));
  });

  it('matches the encoding example of the VICI README', () => {
    const msg: ViciMessage = { key1: 'value1', section1: { 'sub-section': { key2: 'value2' }, list1: ['item1', 'item2'] } };
    const expected = Buffer.from([
      3, 4, ...Buffer.from('key1'), 0, 6, ...Buffer.from('value1'),
      1, 8, ...Buffer.from('section1'),
      1, 11, ...Buffer.from('sub-section'),
      3, 4, ...Buffer.from('key2'), 0, 6, ...Buffer.from('value2'),
      2,
      4, 5, ...Buffer.from('list1'),
      5, 0, 5, ...Buffer.from('item1'),
      5, 0, 5, ...Buffer.from('item2'),
      6,
      2,
    ]); // prettier-ignore
    expect(encodeMessage(msg).equals(expected)).toBe(true);
    expect(decodeMessage(expected)).toEqual(msg);
  });

  it('round-trips every packet type, empty lists and sections, and UTF-8 values', () => {
    const message: ViciMessage = { empty: [], sect: {}, text: 'grüße ✓', nested: { a: { b: { c: 'd' } } } };
    const packets: ViciPacket[] = [
      { type: PacketType.CMD_REQUEST, name: 'load-conn', message },
      { type: PacketType.CMD_RESPONSE, message },
      { type: PacketType.CMD_UNKNOWN },
      { type: PacketType.EVENT_REGISTER, name: 'child-updown' },
      { type: PacketType.EVENT_UNREGISTER, name: 'child-updown' },
      { type: PacketType.EVENT_CONFIRM },
      { type: PacketType.EVENT_UNKNOWN },
      { type: PacketType.EVENT, name: 'ike-updown', message },
    ];
    const wire = Buffer.concat(packets.map(encodePacket));
    expect(decodeAll(wire)).toEqual(packets);
  });

  it('writes numbers and booleans the way swanctl does and drops undefined', () => {
    expect(viciBool(true)).toBe('yes');
    expect(viciBool(false)).toBe('no');
    expect(toViciMessage({ timeout: 5000, mobike: true, encap: false, skip: undefined, ports: [500, 4500], sub: { big: 10n } })).toEqual({
      timeout: '5000',
      mobike: 'yes',
      encap: 'no',
      ports: ['500', '4500'],
      sub: { big: '10' },
    });
    expect(() => toViciMessage({ bad: Number.NaN })).toThrow(ViciProtocolError);
  });

  it('refuses names, values and packets beyond the protocol limits', () => {
    expect(() => encodeMessage({ ['k'.repeat(256)]: 'v' })).toThrow(/name longer than 255/);
    expect(() => encodeMessage({ k: 'v'.repeat(65_536) })).toThrow(/longer than 65535/);
    const big: ViciMessage = {};
    for (let i = 0; i < 9; i++) big[`k${i}`] = 'v'.repeat(65_000);
    expect(() => encodePacket({ type: PacketType.CMD_REQUEST, name: 'x', message: big })).toThrow(/exceeds the 524288-byte limit/);
    expect(() => encodeMessage({ k: 5 as unknown as string })).toThrow(/toViciMessage/);
  });
});

describe('stream decoding', () => {
  const wire = Buffer.concat(ALL_FIXTURES.map(fixture));
  const expected = decodeAll(wire);

  it('handles one byte at a time', () => {
    const d = new ViciStreamDecoder();
    const got: ViciPacket[] = [];
    for (const byte of wire) got.push(...d.push(Buffer.of(byte)));
    expect(got).toEqual(expected);
    expect(d.pendingBytes).toBe(0);
  });

  it('handles arbitrary chunk boundaries and several frames per chunk', () => {
    for (const size of [2, 3, 5, 7, 64, 333, wire.length]) {
      const d = new ViciStreamDecoder();
      const got: ViciPacket[] = [];
      for (let off = 0; off < wire.length; off += size) got.push(...d.push(wire.subarray(off, off + size)));
      expect(got).toEqual(expected);
    }
  });

  it('holds a partial frame until it completes', () => {
    const d = new ViciStreamDecoder();
    const version = fixture('version-response.bin');
    expect(d.push(version.subarray(0, 10))).toEqual([]);
    expect(d.pendingBytes).toBe(10);
    expect(d.push(version.subarray(10))).toHaveLength(1);
  });

  it('rejects an oversize length header at once, without waiting for the data', () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(MAX_SEGMENT_BYTES + 1);
    expect(() => new ViciStreamDecoder().push(head)).toThrow(/exceeds the 524288-byte limit/);
  });

  it('rejects a zero-length segment', () => {
    expect(() => new ViciStreamDecoder().push(Buffer.alloc(4))).toThrow(/zero-length/);
  });
});

describe('malformed input', () => {
  const kv = (name: string, value: string): number[] => [3, name.length, ...Buffer.from(name), 0, value.length, ...Buffer.from(value)];
  const cases: [string, number[], RegExp][] = [
    ['unknown element type', [9], /unknown element type 9/],
    ['truncated key name', [3, 10, 0x61], /truncated key name/],
    ['truncated value length', [3, 1, 0x61, 0], /truncated key "a" value length/],
    ['value longer than the message', [3, 1, 0x61, 0, 9, 0x62], /truncated key "a" value/],
    ['SECTION_END without a section', [2], /SECTION_END without open section/],
    ['unclosed section', [1, 1, 0x73, ...kv('a', 'b')], /1 unclosed section/],
    ['unclosed list', [4, 1, 0x6c, 5, 0, 1, 0x61], /open list/],
    ['LIST_ITEM outside a list', [5, 0, 1, 0x61], /LIST_ITEM outside a list/],
    ['LIST_END without a list', [6], /LIST_END without open list/],
    ['key/value inside a list', [4, 1, 0x6c, ...kv('a', 'b'), 6], /element type 3 inside a list/],
    ['nested list', [4, 1, 0x6c, 4, 1, 0x6d, 6, 6], /element type 4 inside a list/],
    ['section inside a list', [4, 1, 0x6c, 1, 1, 0x73, 2, 6], /element type 1 inside a list/],
    ['duplicate key', [...kv('a', 'b'), ...kv('a', 'c')], /duplicate key "a"/],
  ];

  it.each(cases)('rejects a message with %s', (_what, bytes, error) => {
    expect(() => decodeMessage(Buffer.from(bytes))).toThrow(error);
    expect(() => decodeMessage(Buffer.from(bytes))).toThrow(ViciProtocolError);
  });

  it('rejects bad packets', () => {
    expect(() => decodePacket(Buffer.from([8]))).toThrow(/unknown packet type 8/);
    expect(() => decodePacket(Buffer.from([PacketType.EVENT_CONFIRM, 1]))).toThrow(/unexpected byte/);
    expect(() => decodePacket(Buffer.from([PacketType.EVENT, 5, 0x61]))).toThrow(/truncated event name/);
    expect(() => decodePacket(Buffer.alloc(0))).toThrow(/truncated packet type/);
  });

  it('reports protocol errors as ViciError with code PROTOCOL', () => {
    try {
      decodeMessage(Buffer.from([9]));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ViciError);
      expect((err as ViciError).code).toBe('PROTOCOL');
    }
  });

  it('keeps a key named __proto__ as plain data', () => {
    const m = decodeMessage(Buffer.from([3, 9, ...Buffer.from('__proto__'), 0, 1, 0x78]));
    expect(Object.keys(m)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
  });
});
