import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DEFAULT_TOKEN_MODEL, readTrace, tokenServiceMs } from '../../../warmpool/sim/index.ts';
import { tempDir } from './helpers.ts';

const dir = tempDir();
after(() => dir.remove());

describe('service time from tokens', () => {
  it('is overhead + prefill per input token + decode per output token', () => {
    const m = { prefillMsPerToken: 0.5, decodeMsPerToken: 20, overheadMs: 7 };
    assert.equal(tokenServiceMs(m, 1000, 100), 7 + 500 + 2000);
    assert.equal(tokenServiceMs(m, 0, 0), 7);
  });

  it('defaults to a 7B model on one GPU with ~8 sequences: 0.2 ms per prompt token, 30 ms per output token', () => {
    assert.deepEqual(DEFAULT_TOKEN_MODEL, { prefillMsPerToken: 0.2, decodeMsPerToken: 30, overheadMs: 0 });
    // A mean Azure LLM 2023 conversation request (1,155 prompt, 211 output tokens) takes ~6.6 s.
    assert.equal(Math.round(tokenServiceMs(DEFAULT_TOKEN_MODEL, 1155, 211)), 6561);
  });

  it('gives a generic CSV row its service time from input_tokens/output_tokens when duration_ms is empty', async () => {
    const f = dir.file(
      'tokens.csv',
      [
        'timestamp_ms,model,input_tokens,output_tokens,duration_ms',
        '0,m,100,10,',
        '1,m,100,,',
        '2,m,100,10,50',
        '3,m,,,',
      ].join('\n'),
    );
    const tokenModel = { prefillMsPerToken: 1, decodeMsPerToken: 10, overheadMs: 0 };
    const t = await readTrace({ file: f, serviceMs: 999, tokenModel });
    assert.deepEqual([...t.deployments[0]!.requestsFor(1).serviceMs], [200, 100, 50, 999]);
    assert.equal(t.deployments[0]!.meanServiceMs, (200 + 100 + 50 + 999) / 4);
  });
});
