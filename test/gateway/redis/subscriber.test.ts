// A subscriber connection across Redis restarts (real redis-server, the subscriber in a child process so
// that an unhandled rejection shows as what it is in production: the process dies). ioredis's own
// resubscription leaves the SUBSCRIBE it sends on reconnect unhandled; a connection dropped while that
// command is on the wire killed the gateway. openSubscriber + keepSubscribed must resubscribe after a
// restart and survive the same drop; the plain client is run too, to show the drop is really provoked.
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';

const CHILD = new URL('./subscriber-child.ts', import.meta.url).pathname;
const CHANNEL = 'wg:test:subscriber';

/** The child's stdout lines as they come, and a wait for the first line matching `re`. */
function follow(child: ChildProcessWithoutNullStreams) {
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters.filter((w) => w.re.test(line))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  const waitFor = (re: RegExp, timeoutMs = 20_000): Promise<void> =>
    lines.some((l) => re.test(l))
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const t = setTimeout(
            () =>
              reject(
                new Error(
                  `no line ${re} within ${timeoutMs} ms; got ${JSON.stringify(lines)}; stderr ${stderr}`,
                ),
              ),
            timeoutMs,
          );
          waiters.push({ re, resolve: () => (clearTimeout(t), resolve()) });
          void exited.then(([code]) => {
            clearTimeout(t);
            reject(new Error(`the child exited (${code}) before ${re}; stderr: ${stderr.slice(-2000)}`));
          });
        });
  return { lines, waitFor, exited, stderr: () => stderr };
}

describe(
  'a subscriber across Redis restarts (real redis-server, child processes)',
  { timeout: 120_000 },
  () => {
    let redis: RedisServer;
    let pub: Redis;
    before(async () => {
      redis = await startRedisServer();
      pub = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      pub.on('error', () => undefined);
    });
    after(async () => {
      pub?.disconnect();
      await redis?.stop();
    });

    /** Publishes until the child prints the message (a resubscription takes a moment after 'ready'). */
    const delivered = async (f: ReturnType<typeof follow>, text: string) => {
      for (let i = 0; i < 200 && !f.lines.includes(`message ${text}`); i++) {
        await pub.publish(CHANNEL, text).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(
        f.lines.includes(`message ${text}`),
        `the subscriber got ${text}: ${JSON.stringify(f.lines)}`,
      );
    };

    const run = async (mode: 'plain' | 'kept') => {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, redis.url]);
      const f = follow(child);
      try {
        await f.waitFor(/^subscribed$/);
        await delivered(f, 'before');
        await redis.restart();
        await f.waitFor(/^ready 2$/);
        await delivered(f, 'after-restart');
        child.stdin.write('drop-next-ready\n');
        await redis.restart();
        const outcome = await Promise.race([
          f.waitFor(/^dropped$/).then(() => 'survived' as const),
          f.exited.then(() => 'died' as const),
        ]);
        return { outcome, stderr: f.stderr() };
      } finally {
        child.kill();
      }
    };

    it('openSubscriber + keepSubscribed resubscribes after a restart and survives a drop mid-resubscribe', async () => {
      const { outcome, stderr } = await run('kept');
      assert.equal(outcome, 'survived', stderr);
    });

    it("control: ioredis's own resubscription dies of the same drop (the test provokes it)", async () => {
      const { outcome, stderr } = await run('plain');
      assert.equal(outcome, 'died');
      assert.match(stderr, /Connection is closed/);
    });
  },
);
