// The contract of /api/links.
import { z } from 'zod';
import { ChangedLink, ChangeLink, ChangePreview, CreateLink, Link, LinkList, LinkWithEvents, RotateKey, Teardown } from '../schemas/links';
import { errors, type Operation } from './operation';

const tag = 'links';

export const linkOperations: Operation[] = [
  {
    method: 'post',
    path: '/api/links',
    tag,
    summary: 'Connect two gateways',
    description: 'Stores the link (state provisioning) and starts its workflow, which brings the tunnel up. A refusal (overlapping networks, a pair already linked, a network already reached through another link) stores nothing.',
    body: { schema: CreateLink },
    responses: {
      202: { description: 'Accepted: the link, provisioning', json: Link },
      ...errors([404, 'No such gateway'], [409, 'The ends\' networks overlap, the pair is already linked, a network is already reached through another link, or a gateway is not ready']),
    },
  },
  {
    method: 'get',
    path: '/api/links',
    tag,
    summary: 'List links',
    query: z.object({ includeDeleted: z.enum(['true', 'false']).optional().meta({ description: 'Include deleted links (default false)' }) }),
    responses: { 200: { description: 'Links, oldest first', json: LinkList } },
  },
  {
    method: 'get',
    path: '/api/links/:id',
    tag,
    summary: 'A link with its event history',
    responses: { 200: { description: 'The link and its events, oldest first', json: LinkWithEvents }, ...errors(404) },
  },
  {
    method: 'get',
    path: '/api/links/:id/teardown',
    tag,
    summary: 'What deleting the link removes',
    description: 'The routes and security-group rules the link holds in its clouds, from the controller\'s records, each marked removed or kept (a route that existed before the link, a rule another link still needs). On-prem ends hold none.',
    responses: { 200: { description: 'The link\'s routes and rules', json: Teardown }, ...errors(404) },
  },
  {
    method: 'post',
    path: '/api/links/:id/plan',
    tag,
    summary: 'Preview a CIDR change',
    description: 'What PATCH with the same body would do, without doing it: each end\'s traffic selectors before and after, routes added and removed per route table, security-group rules, and whether the tunnel restarts.',
    body: { schema: ChangeLink },
    responses: { 200: { description: 'The change, per end', json: ChangePreview }, ...errors(404, [409, 'The link is not settled, or the new networks clash (the message names what with)']) },
  },
  {
    method: 'patch',
    path: '/api/links/:id',
    tag,
    summary: 'Change the networks a link carries',
    description: 'Records the change (state updating) and tells the link\'s workflow, which applies it and rolls it back when it fails.',
    body: { schema: ChangeLink },
    responses: {
      200: { description: 'Nothing to change: the link as it is, with the (empty) plan', json: ChangedLink },
      202: { description: 'Accepted: the link, updating, with the plan being applied', json: ChangedLink },
      ...errors(404, [409, 'The link is not settled, or the new networks clash (the message names what with)']),
    },
  },
  {
    method: 'post',
    path: '/api/links/:id/rotate-key',
    tag,
    summary: 'Rotate the link\'s pre-shared key',
    description: 'A new key for both ends, pushed make-before-break by the link\'s workflow. The key itself is never shown.',
    body: { schema: RotateKey, optional: true },
    responses: { 202: { description: 'Accepted: the link, updating, with its new key version', json: Link }, ...errors(404, [409, 'The link is not settled']) },
  },
  {
    method: 'delete',
    path: '/api/links/:id',
    tag,
    summary: 'Delete a link',
    description: 'Records the delete (state deleting) and tells the workflow, which removes the tunnel, routes and rules. A repeat is accepted again.',
    responses: { 202: { description: 'Accepted: the link, deleting', json: Link }, ...errors(404, [409, 'The link is already deleted']) },
  },
];
