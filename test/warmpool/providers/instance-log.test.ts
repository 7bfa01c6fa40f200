import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InstanceLog } from '../../../warmpool/providers/index.ts';

const texts = (log: InstanceLog, n?: number) => log.lines(n).map((l) => `${l.stream}:${l.text}`);

describe('InstanceLog', () => {
  it('splits chunks into lines per stream, a partial line waiting for its end', () => {
    let now = 1000;
    const log = new InstanceLog({ now: () => now });
    log.push('stdout', 'listening on 127.0.0.1:9000\nload');
    log.push('stderr', 'warning: no GPU\r\n');
    now = 2000;
    log.push('stdout', 'ing done\npartial');
    assert.deepEqual(texts(log), [
      'stdout:listening on 127.0.0.1:9000',
      'stderr:warning: no GPU',
      'stdout:loading done',
    ]);
    assert.deepEqual(
      log.lines().map((l) => [l.seq, l.at]),
      [
        [1, 1000],
        [2, 1000],
        [3, 2000],
      ],
    );
    log.end(); // the process closed its output: the partial line is kept
    assert.deepEqual(texts(log, 1), ['stdout:partial']);
  });

  it('keeps only the last maxLines, oldest first, numbered on', () => {
    const log = new InstanceLog({ maxLines: 3 });
    for (let i = 1; i <= 10; i++) log.push('stdout', `line ${i}\n`);
    assert.deepEqual(texts(log), ['stdout:line 8', 'stdout:line 9', 'stdout:line 10']);
    assert.deepEqual(
      log.lines().map((l) => l.seq),
      [8, 9, 10],
    );
    assert.deepEqual(texts(log, 2), ['stdout:line 9', 'stdout:line 10']);
    assert.deepEqual(texts(log, 0), []);
  });

  it('cuts a runaway line, ended or not, to maxLineChars', () => {
    const log = new InstanceLog({ maxLineChars: 10 });
    for (let i = 0; i < 1000; i++) log.push('stderr', 'x'.repeat(100));
    log.push('stderr', '\nshort\n');
    assert.deepEqual(texts(log), [`stderr:${'x'.repeat(10)}…`, 'stderr:short']);
  });
});
