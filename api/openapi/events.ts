// The contract of GET /api/events, the live stream the console follows.
import { z } from 'zod';
import { EventMessage } from '../schemas/events';
import { errors, type Operation } from './operation';

export const eventOperations: Operation[] = [
  {
    method: 'get',
    path: '/api/events',
    tag: 'events',
    summary: 'Live changes (Server-Sent Events)',
    description:
      'A text/event-stream of gateway and link state changes and new link events, from every controller. Messages: `hello` (a fresh stream), `gateway`, `link`, `link-event`, and `resync` (refetch everything). Resume after a reconnect with the Last-Event-ID header (EventSource sends it) or ?lastEventId=.',
    query: z.object({ lastEventId: z.string().optional().meta({ description: 'Resume after this message id (instead of the Last-Event-ID header)' }) }),
    headers: z.object({ 'last-event-id': z.string().optional().meta({ description: 'Resume after this message id (EventSource sends it on a reconnect)' }) }),
    responses: {
      200: { description: 'The stream; messages as EventMessage describes', media: { 'text/event-stream': EventMessage } },
      ...errors([503, 'Live updates are not available on this controller, or the database is busy']),
    },
  },
];
