import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDeployments } from '../../../warmpool/cli/format.ts';

const scaling = { minInstances: 0, maxInstances: 4, warmBuffer: 0, keepAliveMs: 300_000 };

describe('warmgate list', () => {
  it("shows a model's folder or URL, and for a pipeline (no model) the deployments its steps call", () => {
    const text = formatDeployments([
      { name: 'demo', kind: 'generative', model: { path: 'runtime/models/demo' }, scaling },
      {
        name: 'speaker-line',
        kind: 'pipeline',
        steps: {
          classify: { deployment: 'classifier' },
          line: { deployment: 'demo' },
          again: { deployment: 'demo' },
        },
        scaling,
      },
    ]);
    const [, demo, pipeline] = text.split('\n');
    assert.match(demo!, /^demo\s+generative\s+runtime\/models\/demo\s+0\s+4/);
    assert.match(pipeline!, /^speaker-line\s+pipeline\s+steps: classifier, demo\s+0\s+4/);
  });
});
