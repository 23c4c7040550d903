// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { applyEvents, emptyMesh, parseStreamEvent, replaceAll, withLinkDetail, type StreamEvent } from '../../web/src/live/reducer';
import { LiveStore } from '../../web/src/live/store';
import type { ApiClient } from '../../web/src/api/client';
import { gateway, link, streamResponse } from './helpers';

const g1 = gateway('gw1', 'dc-beijing', ['10.1.0.0/24']);
const g2 = gateway('gw2', 'dc-shanghai', ['10.2.0.0/24']);
const l1 = link('lnk1', g1, g2, 'provisioning');

describe('the event reducer', () => {
  const base = replaceAll(emptyMesh, [g1, g2], [l1]);

  it('applies gateway, link and link-event messages, in order', () => {
    const events: StreamEvent[] = [
      { type: 'gateway', id: 'gw1', gateway: { ...g1, online: true } },
      { type: 'link', id: 'lnk1', link: { ...l1, state: 'up' } },
      { type: 'gateway', id: 'gw3', gateway: gateway('gw3', 'vpc-hz', ['172.16.0.0/16']) },
      { type: 'gateway', id: 'gw3', gateway: null },
    ];
    const next = applyEvents(base, events);
    expect(next.gateways.get('gw1')!.online).toBe(true);
    expect(next.links.get('lnk1')!.state).toBe('up');
    expect(next.gateways.has('gw3')).toBe(false);
    // The gateway that did not change keeps its identity (its map node does not re-render).
    expect(next.gateways.get('gw2')).toBe(base.gateways.get('gw2'));
  });

  it('drops a deleted link from the map, unless its page is open', () => {
    const deleted = { ...l1, state: 'deleted' as const, deletedAt: '2026-11-30T01:00:00.000Z' };
    expect(applyEvents(base, [{ type: 'link', id: 'lnk1', link: deleted }]).links.has('lnk1')).toBe(false);
    expect(applyEvents(base, [{ type: 'link', id: 'lnk1', link: null }]).links.has('lnk1')).toBe(false);
    const open = withLinkDetail(base, { ...l1, events: [] });
    expect(applyEvents(open, [{ type: 'link', id: 'lnk1', link: deleted }]).links.get('lnk1')!.state).toBe('deleted');
  });

  it('appends link events to an open timeline once, and ignores them otherwise', () => {
    const event = { at: '2026-11-30T00:00:01.000Z', type: 'tunnel.up', message: 'tunnel up on both ends', data: null };
    expect(applyEvents(base, [{ type: 'link-event', linkId: 'lnk1', event }])).toBe(base);
    const open = withLinkDetail(base, { ...l1, events: [{ at: '2026-11-30T00:00:00.000Z', type: 'link.requested', message: 'requested', data: null }] });
    const next = applyEvents(open, [
      { type: 'link-event', linkId: 'lnk1', event },
      { type: 'link-event', linkId: 'lnk1', event },
    ]);
    expect(next.events.get('lnk1')!.map((e) => e.type)).toEqual(['link.requested', 'tunnel.up']);
  });

  it('keeps the state object when nothing changed (a repeat, or a poll with the same answer)', () => {
    expect(applyEvents(base, [{ type: 'link', id: 'lnk1', link: { ...l1 } }])).toBe(base);
    expect(replaceAll(base, [{ ...g1 }, { ...g2 }], [{ ...l1 }])).toBe(base);
  });

  it('parses the stream messages of the contract, and ignores unknown or malformed ones', () => {
    expect(parseStreamEvent('link', JSON.stringify({ id: 'lnk1', link: l1 }))).toEqual({ type: 'link', id: 'lnk1', link: l1 });
    expect(parseStreamEvent('gateway', '{"id":"gw1","gateway":null}')).toEqual({ type: 'gateway', id: 'gw1', gateway: null });
    expect(parseStreamEvent('resync', '{}')).toEqual({ type: 'resync' });
    expect(parseStreamEvent('link-event', '{"linkId":"x"}')).toBeUndefined();
    expect(parseStreamEvent('link', '{not json')).toBeUndefined();
    expect(parseStreamEvent('something-new', '{}')).toBeUndefined();
  });
});

/** An API whose list answers the test releases by hand; counts the calls. */
function slowApi(answers: () => { gateways: ReturnType<typeof gateway>[]; links: ReturnType<typeof link>[] }) {
  let release: () => void = () => undefined;
  const gate = () => new Promise<void>((r) => (release = r));
  let pending = gate();
  const calls = { lists: 0 };
  const api = {
    listGateways: async () => {
      calls.lists++;
      await pending;
      return answers().gateways;
    },
    listLinks: async () => {
      await pending;
      return answers().links;
    },
  } as unknown as ApiClient;
  return {
    api,
    calls,
    release: () => {
      release();
      pending = gate();
    },
  };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('LiveStore', () => {
  it('opens the stream first, fetches the lists, then applies what arrived meanwhile', async () => {
    const { api, calls, release } = slowApi(() => ({ gateways: [g1, g2], links: [l1] }));
    const up = { ...l1, state: 'up', a: { ...l1.a, tunnelUp: true }, b: { ...l1.b, tunnelUp: true } };
    const stream = streamResponse(['id: 1\nevent: hello\ndata: {}\n\n', `id: 2\nevent: link\ndata: ${JSON.stringify({ id: 'lnk1', link: up })}\n\n`], { hold: true });
    const fetched: string[] = [];
    const store = new LiveStore(api, { fetch: async (url) => (fetched.push(url instanceof Request ? url.url : url.toString()), stream) });
    store.start();
    await until(() => calls.lists === 1);
    expect(fetched).toEqual(['/api/events']);
    // The stream's change arrived before the (older) lists: it must win once they land.
    await new Promise((r) => setTimeout(r, 20));
    expect(store.getState().loaded).toBe(false);
    release();
    await until(() => store.getState().loaded);
    expect(store.getState().mesh.links.get('lnk1')!.state).toBe('up');
    expect(store.getState().mode).toBe('live');
    store.stop();
  });

  it('refetches everything on resync', async () => {
    let state: 'provisioning' | 'failed' = 'provisioning';
    const { api, calls, release } = slowApi(() => ({ gateways: [g1, g2], links: [{ ...l1, state }] }));
    let sendResync: () => void = () => undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('event: hello\ndata: {}\n\n'));
        sendResync = () => controller.enqueue(new TextEncoder().encode('event: resync\ndata: {}\n\n'));
      },
    });
    const store = new LiveStore(api, { fetch: async () => new Response(body, { status: 200 }) });
    store.start();
    await until(() => calls.lists === 1);
    release();
    await until(() => store.getState().loaded);
    state = 'failed';
    sendResync();
    await until(() => calls.lists === 2);
    release();
    await until(() => store.getState().mesh.links.get('lnk1')?.state === 'failed');
    store.stop();
  });

  it('polls the lists when the controller has no event stream (404)', async () => {
    const { api, calls, release } = slowApi(() => ({ gateways: [g1], links: [] }));
    const store = new LiveStore(api, { fetch: async () => new Response('{}', { status: 404 }) });
    store.start();
    await until(() => calls.lists === 1);
    release();
    await until(() => store.getState().loaded);
    expect(store.getState().mode).toBe('polling');
    store.stop();
  });

  it('polls while the stream answers 503, and goes live when it opens', async () => {
    const { api, calls, release } = slowApi(() => ({ gateways: [g1], links: [] }));
    const answers = [new Response('{}', { status: 503 }), streamResponse(['event: hello\ndata: {}\n\n'], { hold: true })];
    const store = new LiveStore(api, { fetch: async () => answers.shift()!, unavailableMs: 30 });
    store.start();
    await until(() => store.getState().mode === 'polling');
    await until(() => calls.lists >= 1);
    release();
    await until(() => store.getState().mode === 'live');
    release();
    await until(() => store.getState().loaded);
    store.stop();
  });
});
