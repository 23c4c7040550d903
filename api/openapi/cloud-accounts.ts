// The contract of /api/cloud-accounts.
import { CloudAccount, CloudAccountList, CreateCloudAccount } from '../schemas/cloud-accounts';
import { errors, type Operation } from './operation';

const tag = 'cloud accounts';

export const cloudAccountOperations: Operation[] = [
  {
    method: 'post',
    path: '/api/cloud-accounts',
    tag,
    summary: 'Add a cloud account',
    description: 'Keys are encrypted at rest and never shown back; without keys the provider\'s default chain (environment, instance role) is used.',
    body: { schema: CreateCloudAccount },
    responses: { 201: { description: 'The account', json: CloudAccount }, ...errors([409, 'An account of that name exists']) },
  },
  { method: 'get', path: '/api/cloud-accounts', tag, summary: 'List cloud accounts', responses: { 200: { description: 'The accounts', json: CloudAccountList } } },
  { method: 'get', path: '/api/cloud-accounts/:id', tag, summary: 'A cloud account', responses: { 200: { description: 'The account', json: CloudAccount }, ...errors(404) } },
  {
    method: 'delete',
    path: '/api/cloud-accounts/:id',
    tag,
    summary: 'Delete a cloud account',
    responses: { 204: { description: 'Deleted' }, ...errors(404, [409, 'Gateways use the account (details.gateways)']) },
  },
];
