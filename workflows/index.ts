// Entry point the worker bundles: every workflow type lives here.
export { linkWorkflow } from './link';
