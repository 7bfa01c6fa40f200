// A flush whose reply is lost (the connection drops after Redis ran it, or before Redis saw it) is
// written exactly once: a real redis-server behind a loopback TCP proxy that cuts the connection at the
// chosen moment, once.
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisHistoryStore, type RequestEnd } from '../../../gateway/request-history/index.ts';
import { sendFlush, settleFlush, withFlushCommand } from '../../../gateway/request-history/flush-script.ts';
import type { KeyWrite } from '../../../gateway/request-history/write-buffer.ts';
import { recordRequest } from '../../support/record-request.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

type Cut = 'none' | 'after-run' | 'before-run';

/** Passes bytes both ways; armed with a cut, the next EVALSHA either runs with its reply lost or never arrives. */
async function startCuttingProxy(
  port: number,
): Promise<{ url: string; cut(c: Cut): void; cuts: number; close(): Promise<void> }> {
  let armed: Cut = 'none';
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const redis = createConnection({ host: '127.0.0.1', port });
    sockets.add(client).add(redis);
    let awaitingLostReply = false;
    const cutBoth = (): void => {
      cuts++;
      client.destroy();
      redis.destroy();
    };
    client.on('data', (b: Buffer) => {
      const isFlush = /\r\nevalsha\r\n/i.test(b.toString('latin1'));
      if (isFlush && armed === 'before-run') {
        armed = 'none';
        return cutBoth();
      }
      if (isFlush && armed === 'after-run') {
        armed = 'none';
        awaitingLostReply = true;
      }
      redis.write(b);
    });
    redis.on('data', (b: Buffer) => {
      if (awaitingLostReply) return cutBoth();
      client.write(b);
    });
    for (const s of [client, redis]) {
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        redis.destroy();
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: (c) => void (armed = c),
    get cuts() {
      return cuts;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function rec(model: string, at: number): RequestEnd {
  return { model, at, promptTokens: 3, outputTokens: 1, ttftMs: null, outcome: 'ok' };
}

describe(
  'history flushes whose reply is lost (real redis-server, cutting TCP proxy)',
  { timeout: 30_000 },
  () => {
    let server: RedisServer;
    let direct: Redis;
    before(async () => {
      server = await startRedisServer();
      direct = new Redis(server.url);
    });
    after(async () => {
      direct?.disconnect();
      await server?.stop();
    });

    /** Arrivals and prompt tokens Redis holds for `model` in its 1 s buckets. */
    async function counted(store: RedisHistoryStore, model: string, from: number) {
      const buckets = await store.series(model, from, from + 60_000, 1000);
      return {
        arrivals: buckets.reduce((a, b) => a + b.arrivals, 0),
        promptTokens: buckets.reduce((a, b) => a + b.promptTokens, 0),
      };
    }

    for (const cut of ['after-run', 'before-run'] as const) {
      it(`counts every arrival once when the connection drops ${cut === 'after-run' ? 'after Redis ran the flush' : 'before Redis saw it'}`, async (t) => {
        const proxy = await startCuttingProxy(server.port);
        t.after(() => proxy.close());
        const model = `lost-${cut}`;
        const store = new RedisHistoryStore({ url: proxy.url, flushIntervalMs: 0, keyPrefix: 'wg:lost:' });
        t.after(() => store.close().catch(() => undefined));
        const base = Math.floor(Date.now() / 60_000) * 60_000;

        // A first flush caches the script in Redis, so the cut one is an EVALSHA that runs.
        recordRequest(store, rec(model, base + 1000));
        await store.flush();
        for (let i = 2; i <= 6; i++) recordRequest(store, rec(model, base + i * 1000));
        proxy.cut(cut);
        // ioredis may resend the cut command on reconnect and get its reply (then the flush resolves),
        // or give up on it (then the flush rejects and the next one settles it first).
        await store.flush().catch(() => undefined);
        assert.equal(proxy.cuts, 1, 'the proxy cut the connection once');
        recordRequest(store, rec(model, base + 7000));
        for (let attempt = 0; ; attempt++) {
          try {
            await store.flush();
            break;
          } catch (e) {
            if (attempt >= 50) throw e;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        assert.equal(store.unsentKeys, 0, 'nothing is held for Redis any more');
        assert.deepEqual(
          await counted(store, model, base),
          { arrivals: 7, promptTokens: 7 * 3 },
          'each of the 7 arrivals, and each end, counted once',
        );
        const minute = await direct.hget(`wg:lost:${model}:60000:${base}`, 'arrivals');
        assert.equal(minute, '7', 'the minute bucket too');
      });
    }

    it('the fence: a repeat of a flush that ran returns its reply without running; one settled as lost never runs', async () => {
      const client = withFlushCommand(direct);
      const key = 'wg:fence:_flush:test';
      const ttlMs = 60_000;
      const write = (n: number): KeyWrite[] => [
        { kind: 'hash', key: 'wg:fence:m:1000:0', expireAt: Date.now() + ttlMs, incr: { arrivals: n } },
      ];
      const arrivals = async () => Number(await direct.hget('wg:fence:m:1000:0', 'arrivals'));

      assert.deepEqual(await sendFlush(client, { key, seq: 1, ttlMs }, write(2)), {
        failed: [],
        error: null,
      });
      assert.deepEqual(await sendFlush(client, { key, seq: 1, ttlMs }, write(2)), {
        failed: [],
        error: null,
      });
      assert.equal(await arrivals(), 2, 'a repeat of flush 1 did not run again');
      assert.deepEqual(await settleFlush(client, { key, seq: 1, ttlMs }, write(2)), {
        failed: [],
        error: null,
      });

      assert.equal(await settleFlush(client, { key, seq: 2, ttlMs }, write(5)), null, 'flush 2 never ran');
      const late = await sendFlush(client, { key, seq: 2, ttlMs }, write(5));
      assert.equal(late.failed.length, 1, 'flush 2 arriving late is refused whole');
      assert.match(String(late.error), /fenced/);
      assert.equal(await arrivals(), 2);
      await sendFlush(client, { key, seq: 3, ttlMs }, write(5));
      assert.equal(await arrivals(), 7, 'the next flush runs');
      assert.ok((await direct.pttl(key)) > 0, 'the fence expires');
    });
  },
);
