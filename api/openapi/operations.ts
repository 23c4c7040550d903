// Every operation of /api. The contract test checks this list against the routes Express really
// has, both ways; the document and the response checker are built from it.
import { cloudAccountOperations } from './cloud-accounts';
import { eventOperations } from './events';
import { gatewayOperations } from './gateways';
import { linkOperations } from './links';
import { metaOperations } from './meta';
import type { Operation } from './operation';
import { tokenOperations } from './tokens';
import { auditOperations } from './audit';

export const apiOperations: readonly Operation[] = [...gatewayOperations, ...linkOperations, ...cloudAccountOperations, ...eventOperations, ...tokenOperations, ...auditOperations, ...metaOperations];
