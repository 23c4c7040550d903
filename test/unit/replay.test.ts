// Workflow code must replay the histories of every earlier version: links, route tables and
// security groups live for months, so a deploy meets workflows started by older code. Each
// fixture in test/fixtures/histories is a real history recorded by an earlier version (see
// UPDATE_HISTORIES in the integration tests); a change without a patch() fails here.
import { describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { replayDataConverter } from '../helpers/controller';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflows } from '../../controller/runtime';

const dir = path.join(__dirname, '..', 'fixtures', 'histories');

describe('recorded histories of earlier versions replay against the current workflow code', async () => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const bundle = bundleWorkflows();

  it('has the fixtures of every long-lived workflow type', async () => {
    const types = await Promise.all(
      files.map(async (f) => historyFromJSON(JSON.parse(await readFile(path.join(dir, f), 'utf8'))).events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name),
    );
    expect(new Set(types)).toEqual(new Set(['linkWorkflow', 'routeTableWorkflow', 'securityGroupWorkflow']));
  });

  it.each(files)('%s', async (file) => {
    const history = historyFromJSON(JSON.parse(await readFile(path.join(dir, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: await bundle, dataConverter: replayDataConverter() }, history, `replay-${file}`);
  }, 60_000);
});
