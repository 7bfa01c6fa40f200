import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MooncakeRequest } from '../../../gateway/bench/mooncake.ts';
import { conversationIds } from '../../../gateway/bench/mooncake-sessions.ts';

const req = (hashIds: number[]): MooncakeRequest => ({ atMs: 0, prompt: '', maxTokens: 1, hashIds });

describe('conversation ids inferred from the Mooncake trace', () => {
  it('a request continues the earlier one whose prompt, less its last block, begins it', () => {
    const ids = conversationIds([
      req([0, 1, 2, 3]), // conversation A, turn 1 (block 3 cut mid-block)
      req([0, 7, 8]), // B
      req([0, 1, 2, 9, 10, 11]), // A, turn 2: its block 3 grew into 9
      req([0, 1, 2, 9, 10, 12, 13]), // A, turn 3
      req([0, 7, 8, 20]), // B, turn 2 (B's whole prompt less its last block: [0, 7])
      req([0, 5]), // a new one: only the block every prompt shares
    ]);
    assert.deepEqual(ids, ['conv-0', 'conv-1', 'conv-0', 'conv-0', 'conv-1', 'conv-2']);
  });
});
