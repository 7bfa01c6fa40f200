import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FirstTextDetector, lineHasText } from '../../../gateway/bench/first-text.ts';

describe('first streamed text', () => {
  it('recognises text in OpenAI SSE events and instance NDJSON token events only', () => {
    const yes = [
      'data: {"id":"c","choices":[{"index":0,"text":"h","finish_reason":null}]}',
      'data:{"choices":[{"index":0,"delta":{"content":"h"}}]}',
      '{"type":"token","index":0,"token":104,"text":"h","logprob":0,"top":[]}',
    ];
    const no = [
      'data: {"choices":[{"index":0,"text":""}]}',
      'data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}',
      'data: [DONE]',
      ': keep-alive',
      'event: message',
      '',
      '{"type":"token","index":0,"token":226,"text":"","logprob":0,"top":[]}',
      '{"type":"finish","index":0,"reason":"length","text":"x","promptTokens":1,"completionTokens":1,"preemptions":0}',
      'data: {"choices":[{"text":',
    ];
    for (const l of yes) assert.equal(lineHasText(l), true, l);
    for (const l of no) assert.equal(lineHasText(l), false, l);
  });

  it('finds a line split across chunks, and a character split across them', () => {
    const d = new FirstTextDetector();
    const bytes = new TextEncoder().encode('data: {"choices":[{"text":"é"}]}\n\n');
    const cut = bytes.indexOf(0xa9); // inside 'é' (c3 a9)
    assert.equal(d.push(new TextEncoder().encode('data: {"choices":[{"text":""}]}\n\n')), false);
    assert.equal(d.push(bytes.subarray(0, cut)), false);
    assert.equal(d.push(bytes.subarray(cut)), true);
    assert.equal(d.push(new Uint8Array()), true, 'stays true');
  });
});
