// Shared by the console's component tests: an axe-core check of rendered markup, and API answers
// shaped as the controller sends them.
import axe from 'axe-core';
import { toHttp, type AppError } from '../../lib/errors';

/** Accessibility violations in `node` (colour contrast needs a real layout engine: the browser tests check it). */
export async function axeViolations(node: Element): Promise<string[]> {
  const result = await axe.run(node, { rules: { 'color-contrast': { enabled: false }, region: { enabled: false } } });
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
}

export const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** The API's answer to a refused request, through the API's own error mapping. */
export function errorResponse(err: AppError): Response {
  const { status, body } = toHttp(err);
  return json(status, body);
}

/** A Response whose body streams the given text chunks (an event stream), then ends or fails. */
export function streamResponse(chunks: string[], { fail = false, hold = false } = {}): Response {
  const encoder = new TextEncoder();
  const queue = [...chunks];
  // Chunks go out one per read, as a network delivers them; then the stream ends, fails, or stays open.
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = queue.shift();
      if (chunk !== undefined) controller.enqueue(encoder.encode(chunk));
      else if (fail) controller.error(new Error('connection reset'));
      else if (!hold) controller.close();
      else return new Promise<void>(() => undefined);
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

import type { Gateway, Link } from '../../web/src/api/types';

/** A gateway as GET /api/gateways/:id shows an on-prem one (api/views.ts gatewayView). */
export function gateway(id: string, name: string, cidrs: string[], extra: Partial<Gateway> = {}): Gateway {
  return {
    id,
    name,
    provider: 'onprem',
    state: 'ready',
    stateReason: null,
    cidrs,
    publicIp: null,
    endpoint: null,
    reachability: { address: null, source: 'unknown', inbound: 'unknown' },
    online: false,
    lastSeenAt: null,
    observedIp: null,
    controller: null,
    facts: null,
    createdAt: '2026-11-30T00:00:00.000Z',
    ...extra,
  };
}

/** A link as GET /api/links shows it (api/views.ts linkView, without events). */
export function link(id: string, a: Gateway, b: Gateway, state: Link['state'] = 'up', extra: Partial<Link> = {}): Link {
  return {
    id,
    state,
    stateReason: null,
    a: { id: a.id, name: a.name, cidrs: a.cidrs, tunnelUp: state === 'up' },
    b: { id: b.id, name: b.name, cidrs: b.cidrs, tunnelUp: state === 'up' },
    workflowId: `link-${id}`,
    workflowUrl: `http://127.0.0.1:8233/namespaces/default/workflows/link-${id}`,
    keyVersion: 1,
    keyRotatedAt: '2026-11-30T00:00:00.000Z',
    createdAt: '2026-11-30T00:00:00.000Z',
    updatedAt: '2026-11-30T00:00:00.000Z',
    deletedAt: null,
    deleteRequestedAt: null,
    ...extra,
  };
}

/**
 * happy-dom has no layout: React Flow would never see its nodes' sizes, so it would draw no
 * edges. This gives elements the size their style says and reports every observed element as
 * resized once, soon after it is observed (what React Flow's own testing guide does for jsdom).
 */
export function withLayoutShim(): void {
  class ImmediateResizeObserver {
    constructor(private readonly callback: ResizeObserverCallback) {}
    observe(target: Element) {
      // Like a browser: reported after the current task, once the element is laid out.
      setTimeout(() => this.callback([{ target } as unknown as ResizeObserverEntry], this), 0);
    }
    unobserve() {}
    disconnect() {}
  }
  globalThis.ResizeObserver = ImmediateResizeObserver;
  const size = (el: HTMLElement, dim: 'width' | 'height') => {
    const styled = el.style[dim];
    if (styled.endsWith('px')) return parseFloat(styled);
    return el.classList.contains('react-flow__handle') ? 10 : 800;
  };
  Object.defineProperty(HTMLElement.prototype, 'offsetWidth', { configurable: true, get(this: HTMLElement) { return size(this, 'width'); } });
  Object.defineProperty(HTMLElement.prototype, 'offsetHeight', { configurable: true, get(this: HTMLElement) { return size(this, 'height'); } });
}
