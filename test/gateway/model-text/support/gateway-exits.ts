// A child process for tokenizer-worker.test.ts: a gateway in front of a stub instance of an imported
// model (the llama fixture's tokenizer), one completion (which starts a tokenizer worker), then the
// gateway and the stub closed, and nothing else: the process must end by itself, so no worker (nor
// anything else) may keep it alive. Prints the completion's status.
import { startGateway } from '../../../../gateway/server/index.ts';
import { HF_FIXTURES } from '../../../support/hf-golden.ts';
import { SCALING } from '../../../support/platform.ts';
import { startStubHfInstance } from './stub-hf-instance.ts';

const dir = `${HF_FIXTURES}llama`;
const stub = await startStubHfInstance(dir, 512);
const gw = await startGateway({
  port: 0,
  pollIntervalMs: 50,
  deployments: [{ name: 'llama', kind: 'generative', model: { path: dir }, scaling: SCALING }],
  instances: [{ deployment: 'llama', url: stub.url }],
});
const res = await fetch(`${gw.url}/v1/completions`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'llama', prompt: 'Hello', max_tokens: 1 }),
});
console.log(`completion ${res.status} ${await res.text()}`);
await gw.close();
await stub.close();
