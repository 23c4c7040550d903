// The contract of /api/gateways. Request bodies come from api/gateway-schemas.ts, which the routes
// validate with.
import { CreateGateway, IssueEnrolmentToken, RotateSecret, UpdateGateway } from '../gateway-schemas';
import { EnrolmentToken, Gateway, GatewayList, RegisteredGateway, UpdatedGateway } from '../schemas/gateways';
import { errors, type Operation } from './operation';

const tag = 'gateways';

export const gatewayOperations: Operation[] = [
  {
    method: 'post',
    path: '/api/gateways',
    tag,
    summary: 'Register a gateway',
    description: 'An on-prem site with its networks, or a cloud gateway by its public IP (its instance, VPC, route tables and networks are discovered). The answer carries the agent\'s secret, shown this once.',
    body: { schema: CreateGateway },
    responses: {
      201: { description: 'Registered: the gateway and its agent secret', json: RegisteredGateway },
      ...errors([404, 'No such cloud account'], [409, 'A gateway of that name exists, or the account is for another provider']),
    },
  },
  { method: 'get', path: '/api/gateways', tag, summary: 'List gateways', responses: { 200: { description: 'The gateways, with online state', json: GatewayList } } },
  { method: 'get', path: '/api/gateways/:id', tag, summary: 'A gateway', responses: { 200: { description: 'The gateway', json: Gateway }, ...errors(404) } },
  {
    method: 'patch',
    path: '/api/gateways/:id',
    tag,
    summary: 'Change a gateway',
    description:
      'Its name (any gateway); an on-prem site\'s networks (cidrs, with the same checks as links) and where it can be reached (publicIp, inbound; null clears). Live links re-plan; a change that would strand one is refused and nothing is stored.',
    body: { schema: UpdateGateway },
    responses: {
      200: { description: 'The gateway as changed', json: UpdatedGateway },
      ...errors(404, [409, 'Refused: the message says why (a cloud gateway\'s address or networks, a name in use, networks a live link needs, a link left with no end to connect to)']),
    },
  },
  {
    method: 'delete',
    path: '/api/gateways/:id',
    tag,
    summary: 'Delete a gateway',
    description: 'Only a gateway no live link uses. Its agent is disconnected and refused from then on.',
    responses: { 204: { description: 'Deleted' }, ...errors(404, [409, 'Live links use it (details.links): delete them first']) },
  },
  {
    method: 'post',
    path: '/api/gateways/:id/secret',
    tag,
    summary: 'Rotate the agent secret',
    description: 'A new secret, shown this once; the old one stops working at once and the connected agent is told why.',
    body: { schema: RotateSecret, optional: true },
    responses: { 200: { description: 'The gateway and its new agent secret', json: RegisteredGateway }, ...errors(404) },
  },
  {
    method: 'post',
    path: '/api/gateways/:id/enrolment-token',
    tag,
    summary: 'Issue an enrolment token',
    description: 'A short-lived, single-use token the agent trades for its secret on first connect; it replaces earlier unused ones.',
    body: { schema: IssueEnrolmentToken, optional: true },
    responses: { 201: { description: 'The token, shown this once', json: EnrolmentToken }, ...errors(404) },
  },
];
