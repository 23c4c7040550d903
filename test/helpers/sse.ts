// A Server-Sent Events client as the console has it: fetch() with an Authorization header (not
// EventSource), the stream parsed into messages as they arrive, each stamped with its arrival time.
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: unknown;
  /** Date.now() when the message arrived. */
  at: number;
}

export interface SseStream {
  status: number;
  headers: Headers;
  messages: SseMessage[];
  /** Comment lines (": keepalive") and retry fields, as received. */
  comments: string[];
  retry: number | undefined;
  /** Resolves with the first message (already received or arriving within `timeoutMs`) that matches. */
  next(match: (m: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  /** The stream ended (the server closed it). */
  ended: Promise<void>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const stream: SseStream = {
    status: res.status,
    headers: res.headers,
    messages,
    comments,
    retry: undefined,
    next(match, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(match);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => [m.id, m.event]))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    ended: Promise.resolve(),
    close: () => abort.abort(),
  };
  if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await res.text().catch(() => undefined);
    return stream;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  stream.ended = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line);
            const colon = line.indexOf(':');
            if (colon <= 0) continue;
            fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
          }
          if (fields.retry !== undefined) stream.retry = Number(fields.retry);
          if (fields.data !== undefined) {
            messages.push({ id: fields.id, event: fields.event ?? 'message', data: JSON.parse(fields.data), at: Date.now() });
            for (const waiter of [...waiters]) waiter();
          }
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return stream;
}
