// Entry point the worker bundles: every workflow type lives here.
export { linkWorkflow } from './link/workflow';
export { discoverGatewayWorkflow, followInstanceWorkflow } from './discovery';
export { routeTableWorkflow } from './route-table';
export { securityGroupWorkflow } from './security-group';
