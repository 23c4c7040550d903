// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { SseParser, openEventStream, type SseMessage, type StreamStatus } from '../../web/src/live/sse';
import { streamResponse } from './helpers';

const STREAM = [
  ': comment, ignored\n',
  'id: 1\nevent: hello\ndata: {"cursor":"1"}\n\n',
  'id: 2\r\nevent: link\r\ndata: {"id":"lnk1",\r\ndata: "link":null}\r\n\r\n',
  'event: resync\rdata: {}\r\r',
  'id: 3\nevent: gateway\ndata:{"id":"gw1","gateway":null}\n\n',
  'data\n\n',
].join('');

function parseAll(chunks: string[]): SseMessage[] {
  const parser = new SseParser();
  return chunks.flatMap((c) => parser.feed(c));
}

describe('SseParser', () => {
  const whole = parseAll([STREAM]);

  it('parses events, ids, multi-line data, CR, LF and CRLF line ends, and skips comments', () => {
    expect(whole).toEqual([
      { id: '1', event: 'hello', data: '{"cursor":"1"}' },
      { id: '2', event: 'link', data: '{"id":"lnk1",\n"link":null}' },
      // No id of its own: the last id is kept (what Last-Event-ID resumes from).
      { id: '2', event: 'resync', data: '{}' },
      { id: '3', event: 'gateway', data: '{"id":"gw1","gateway":null}' },
      { id: '3', event: 'message', data: '' },
    ]);
  });

  it('gives the same messages however the stream is split into chunks', () => {
    for (let i = 1; i < STREAM.length; i++) {
      expect(parseAll([STREAM.slice(0, i), STREAM.slice(i)]), `split at ${i}`).toEqual(whole);
    }
    expect(parseAll([...STREAM])).toEqual(whole);
  });

  it('holds back an incomplete message until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.feed('event: link\ndata: {}\n')).toEqual([]);
    expect(parser.feed('\n')).toEqual([{ event: 'link', data: '{}' }]);
  });
});

describe('openEventStream', () => {
  it('reconnects after an error with Last-Event-ID, and sends the Authorization header', async () => {
    const calls: Record<string, string>[] = [];
    const answers = [streamResponse(['id: 7\nevent: hello\ndata: {}\n\n', 'id: 8\nevent: resync\ndata: {}\n\n'], { fail: true }), streamResponse(['id: 9\nevent: resync\ndata: {}\n\n'], { hold: true })];
    const messages: SseMessage[] = [];
    const statuses: StreamStatus[] = [];
    const done = new Promise<void>((resolve) => {
      const stop = openEventStream({
        url: '/api/events',
        headers: () => ({ Authorization: 'Bearer t0ken-for-the-test' }),
        backoffMs: 5,
        fetch: async (_url, init) => {
          calls.push(init?.headers as Record<string, string>);
          return answers.shift() ?? new Promise<Response>(() => undefined);
        },
        onStatus: (s) => statuses.push(s),
        onMessage: (m) => {
          messages.push(m);
          if (m.id === '9') {
            stop();
            resolve();
          }
        },
      });
    });
    await done;
    expect(messages.map((m) => m.id)).toEqual(['7', '8', '9']);
    expect(calls[0]).toMatchObject({ Authorization: 'Bearer t0ken-for-the-test', Accept: 'text/event-stream' });
    expect(calls[0]!['Last-Event-ID']).toBeUndefined();
    expect(calls[1]).toMatchObject({ 'Last-Event-ID': '8', Authorization: 'Bearer t0ken-for-the-test' });
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'reconnecting', 'open']);
  });

  it('says the stream is unsupported on 404 and stops trying', async () => {
    let calls = 0;
    const status = await new Promise<StreamStatus>((resolve) => {
      openEventStream({
        url: '/api/events',
        headers: () => ({}),
        backoffMs: 1,
        fetch: async () => {
          calls++;
          return new Response('{"error":{"code":"not_found","message":"no"}}', { status: 404 });
        },
        onStatus: (s) => s === 'unsupported' && resolve(s),
        onMessage: () => undefined,
      });
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(status).toBe('unsupported');
    expect(calls).toBe(1);
  });
});
