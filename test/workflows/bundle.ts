// The workflow bundle of the workflow tests: every production workflow, plus a reply collector that
// stands in for a link workflow where only the replies a workflow sends matter.
export * from '../../workflows';
export { replyCollector } from './collector';
