import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../../runtime/engine/sampling/rng.ts';
import { StopMatcher } from '../../../runtime/engine/text/stop-matcher.ts';

/** Feeds pieces and records each push; the last entry is the flush when nothing stopped. */
function run(stops: string[], pieces: string[]): { emits: string[]; stopped: boolean; text: string } {
  const matcher = new StopMatcher(stops);
  const emits: string[] = [];
  for (const piece of pieces) {
    const { emit, stopped } = matcher.push(piece);
    emits.push(emit);
    if (stopped) return { emits, stopped, text: emits.join('') };
  }
  emits.push(matcher.flush());
  return { emits, stopped: false, text: emits.join('') };
}

describe('StopMatcher', () => {
  test('with no stops, everything is emitted at once', () => {
    assert.deepEqual(run([], ['ab', '', 'c']), { emits: ['ab', '', 'c', ''], stopped: false, text: 'abc' });
  });

  test('a stop inside one piece cuts the text before it', () => {
    assert.deepEqual(run(['STOP'], ['hello STOP world']), {
      emits: ['hello '],
      stopped: true,
      text: 'hello ',
    });
  });

  test('a stop split across many pieces is held back, then dropped', () => {
    assert.deepEqual(run(['###'], ['ab#', '#', '#cd']), { emits: ['ab', '', ''], stopped: true, text: 'ab' });
    assert.deepEqual(run(['<|end|>'], ['x<', '|', 'e', 'n', 'd', '|', '>tail']), {
      emits: ['x', '', '', '', '', '', ''],
      stopped: true,
      text: 'x',
    });
  });

  test('held text is released as soon as it can no longer become a stop', () => {
    assert.deepEqual(run(['END'], ['foo E', 'x']), {
      emits: ['foo ', 'Ex', ''],
      stopped: false,
      text: 'foo Ex',
    });
  });

  test('held text is flushed when generation ends without a stop', () => {
    assert.deepEqual(run(['END'], ['foo E', 'N']), {
      emits: ['foo ', '', 'EN'],
      stopped: false,
      text: 'foo EN',
    });
  });

  test('a stop whose prefix repeats itself is still found', () => {
    // After "aa" the held tail must stay "aa", not restart at the third "a".
    assert.deepEqual(run(['aab'], ['a', 'a', 'a', 'b']), {
      emits: ['', '', 'a', ''],
      stopped: true,
      text: 'a',
    });
    assert.deepEqual(run(['ababc'], ['abab', 'abc']), { emits: ['', 'ab'], stopped: true, text: 'ab' });
  });

  test('with several stops, the one that starts first wins', () => {
    assert.deepEqual(run(['STOP', 'END'], ['x END y STOP']), { emits: ['x '], stopped: true, text: 'x ' });
    assert.deepEqual(run(['\n\n', 'User:'], ['hi', ' Us', 'er: x']), {
      emits: ['hi', ' ', ''],
      stopped: true,
      text: 'hi ',
    });
  });

  test('the tail is held for whichever stop it could still become', () => {
    // "ab" could grow into "abc" even though it is no longer a prefix of "abd".
    assert.deepEqual(run(['abd', 'abc'], ['xab', 'c']), { emits: ['x', ''], stopped: true, text: 'x' });
  });

  test('after a stop, nothing more is emitted', () => {
    const matcher = new StopMatcher(['.']);
    assert.deepEqual(matcher.push('done. more'), { emit: 'done', stopped: true });
    assert.deepEqual(matcher.push('again'), { emit: '', stopped: true });
    assert.equal(matcher.flush(), '');
  });

  test('empty stop strings are ignored', () => {
    assert.deepEqual(run([''], ['abc']), { emits: ['abc', ''], stopped: false, text: 'abc' });
  });

  test('any split of the text gives the same output as matching the whole text', () => {
    // No stop is a substring of another, so "first to start" and "first to finish" agree.
    const stops = ['abc', 'bcb', 'cc'];
    const rng = Rng.fromSeed(17);
    for (let trial = 0; trial < 500; trial++) {
      const length = 1 + Math.floor(rng.next() * 20);
      const text = Array.from({ length }, () => 'abc'[Math.floor(rng.next() * 3)]).join('');
      const hits = stops.map((s) => text.indexOf(s)).filter((i) => i >= 0);
      const expected = hits.length > 0 ? text.slice(0, Math.min(...hits)) : text;
      const pieces: string[] = [];
      for (let i = 0; i < text.length;) {
        const size = Math.floor(rng.next() * 4);
        pieces.push(text.slice(i, i + size));
        i += size;
      }
      const result = run(stops, pieces);
      assert.equal(result.text, expected, `text ${JSON.stringify(text)} in pieces ${JSON.stringify(pieces)}`);
      assert.equal(result.stopped, hits.length > 0);
    }
  });
});
