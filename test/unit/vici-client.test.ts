// ViciClient against a scripted fake charon: ordering, errors, events, streaming, timeouts and a
// vanishing daemon.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ViciClient } from '../../agent/vici/client';
import { encodePacket, PacketType, type ViciMessage, type ViciPacket } from '../../agent/vici/codec';
import { ViciError } from '../../agent/vici/errors';
import { FakeCharon, defaultHandler } from '../fixtures/vici/fake-charon';

let fake: FakeCharon;
let client: ViciClient;

beforeEach(async () => {
  fake = await FakeCharon.start();
  client = await ViciClient.connect(fake.socketPath, { timeoutMs: 2_000 });
});

afterEach(async () => {
  await client.close();
  await fake.stop();
});

async function rejection(p: Promise<unknown>): Promise<ViciError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ViciError);
  return err as ViciError;
}

/** Resolves with the reason of the client's 'close' (events.once would reject on 'error'). */
async function closeEvent(c: ViciClient): Promise<ViciError | undefined> {
  return new Promise((resolve) => c.once('close', resolve));
}

const response = (message: ViciMessage): ViciPacket => ({ type: PacketType.CMD_RESPONSE, message });
const event = (name: string, message: ViciMessage): ViciPacket => ({ type: PacketType.EVENT, name, message });

describe('ViciClient', () => {
  it('sends a command and returns the response', async () => {
    fake.handler = (p, conn) => conn.send(response({ daemon: 'charon', echo: p.type === PacketType.CMD_REQUEST ? p.name : '' }));
    await expect(client.request('version', { a: 'b' })).resolves.toEqual({ daemon: 'charon', echo: 'version' });
    expect(fake.received).toEqual([{ type: PacketType.CMD_REQUEST, name: 'version', message: { a: 'b' } }]);
  });

  it('keeps one command on the wire at a time and matches replies in order', async () => {
    let outstanding = 0;
    let maxOutstanding = 0;
    fake.handler = (p, conn) => {
      outstanding += 1;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      setTimeout(() => {
        outstanding -= 1;
        conn.send(response({ name: p.type === PacketType.CMD_REQUEST ? p.name : '?' }));
      }, 10);
    };
    const results = await Promise.all(['one', 'two', 'three'].map(async (n) => client.request(n)));
    expect(results).toEqual([{ name: 'one' }, { name: 'two' }, { name: 'three' }]);
    expect(maxOutstanding).toBe(1);
  });

  it('turns success=no into COMMAND_FAILED with errmsg, and CMD_UNKNOWN into UNKNOWN_COMMAND', async () => {
    fake.handler = (p, conn) => {
      if (p.type === PacketType.CMD_REQUEST && p.name === 'load-conn') conn.send(response({ success: 'no', errmsg: 'invalid value for: proposals' }));
      else conn.send({ type: PacketType.CMD_UNKNOWN });
    };
    const failed = await rejection(client.request('load-conn', { x: {} }));
    expect(failed).toMatchObject({ code: 'COMMAND_FAILED', command: 'load-conn', errmsg: 'invalid value for: proposals' });
    expect(failed.message).toBe('load-conn failed: invalid value for: proposals');
    const unknown = await rejection(client.request('bogus'));
    expect(unknown).toMatchObject({ code: 'UNKNOWN_COMMAND', command: 'bogus' });
  });

  it('delivers subscribed events, also between a request and its response and in the confirm chunk', async () => {
    fake.handler = (p, conn) => {
      if (p.type === PacketType.EVENT_REGISTER) conn.send({ type: PacketType.EVENT_CONFIRM }, event(p.name, { first: 'yes' }));
      if (p.type === PacketType.CMD_REQUEST) conn.send(event('child-updown', { up: 'yes' }), event('ike-rekey', {}), response({ success: 'yes' }));
    };
    const seen: [string, ViciMessage][] = [];
    client.on('event', (name, msg) => seen.push([name, msg]));
    await client.subscribe('child-updown');
    await client.request('initiate', { child: 'x' });
    expect(seen).toEqual([
      ['child-updown', { first: 'yes' }],
      ['child-updown', { up: 'yes' }],
    ]); // ike-rekey was not subscribed
    fake.handler = defaultHandler;
    await client.subscribe('child-updown'); // already subscribed: no second registration
    expect(fake.received.filter((p) => p.type === PacketType.EVENT_REGISTER)).toHaveLength(1);
    await client.unsubscribe('child-updown');
    expect(fake.received.at(-1)).toEqual({ type: PacketType.EVENT_UNREGISTER, name: 'child-updown' });
  });

  it('fails subscribe to an unknown event with UNKNOWN_EVENT', async () => {
    fake.handler = (_p, conn) => conn.send({ type: PacketType.EVENT_UNKNOWN });
    expect(await rejection(client.subscribe('nope'))).toMatchObject({ code: 'UNKNOWN_EVENT', command: 'nope' });
  });

  it('streams: registers, collects events until the response, unregisters', async () => {
    fake.handler = (p, conn) => {
      if (p.type === PacketType.CMD_REQUEST) conn.send(event('list-sa', { a: {} }), event('list-sa', { b: {} }), response({}));
      else defaultHandler(p, conn);
    };
    const emitted: string[] = [];
    client.on('event', (name) => emitted.push(name));
    const result = await client.streamedRequest('list-sas', 'list-sa', { noblock: 'yes' });
    expect(result).toEqual({ events: [{ a: {} }, { b: {} }], response: {} });
    expect(fake.received.map((p) => p.type)).toEqual([PacketType.EVENT_REGISTER, PacketType.CMD_REQUEST, PacketType.EVENT_UNREGISTER]);
    expect(emitted).toEqual([]);
  });

  it('times out a request, discards its late reply, and keeps later replies matched', async () => {
    let held: (() => void) | undefined;
    fake.handler = (p, conn) => {
      if (p.type !== PacketType.CMD_REQUEST) return;
      if (p.name === 'slow') held = () => conn.send(response({ from: 'slow' }));
      else {
        held?.();
        conn.send(response({ from: p.name }));
      }
    };
    const slow = await rejection(client.request('slow', {}, { timeoutMs: 30 }));
    expect(slow).toMatchObject({ code: 'TIMEOUT', command: 'slow' });
    await expect(client.request('fast')).resolves.toEqual({ from: 'fast' });
    expect(client.closed).toBe(false);
  });

  it('fails in-flight requests at once and emits close when charon goes away', async () => {
    fake.handler = () => undefined; // never answers
    const closed = closeEvent(client);
    const pending = rejection(client.request('initiate', {}, { timeoutMs: 10_000 }));
    const queued = rejection(client.request('version', {}, { timeoutMs: 10_000 }));
    await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    fake.connections[0]?.socket.destroy();
    expect(await pending).toMatchObject({ code: 'CLOSED' });
    expect(await queued).toMatchObject({ code: 'CLOSED' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((await closed)?.code).toBe('CLOSED');
    expect(client.closed).toBe(true);
    expect(await rejection(client.request('version'))).toMatchObject({ code: 'CLOSED' });
  });

  it('treats malformed bytes as a protocol error and closes', async () => {
    fake.handler = (_p, conn) => conn.raw(Buffer.from([0, 0, 0, 2, PacketType.CMD_RESPONSE, 9]));
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const closed = closeEvent(client);
    expect(await rejection(client.request('version'))).toMatchObject({ code: 'PROTOCOL' });
    expect((await closed)?.code).toBe('PROTOCOL');
    expect(errors[0]?.message).toMatch(/unknown element type 9/);
  });

  it('treats an unsolicited reply as a protocol error (without an error listener, no crash)', async () => {
    const closed = closeEvent(client);
    fake.connections[0]?.raw(encodePacket(response({})));
    expect((await closed)?.code).toBe('PROTOCOL');
  });

  it('close() fails pending requests, emits close without a reason, and is idempotent', async () => {
    fake.handler = () => undefined;
    const closed = closeEvent(client);
    const pending = rejection(client.request('initiate'));
    await client.close();
    await client.close();
    expect(await pending).toMatchObject({ code: 'CLOSED' });
    expect(await closed).toBeUndefined();
  });

  it('reports CONNECT_FAILED for a missing socket', async () => {
    expect(await rejection(ViciClient.connect(`${fake.socketPath}.missing`))).toMatchObject({ code: 'CONNECT_FAILED' });
  });
});
