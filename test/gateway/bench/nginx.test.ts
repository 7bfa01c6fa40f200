import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ensureNginx, nginxConfig, startNginx } from '../../../gateway/bench/nginx.ts';
import { startTrivialUpstream, type TrivialUpstream } from '../../../gateway/bench/trivial-upstream.ts';

// Installs Debian's nginx when it is absent and installable (root or passwordless sudo), as the benchmark does.
const nginx = await ensureNginx();
const skip = nginx.ok ? false : `nginx unavailable: ${nginx.reason}`;

describe('nginx config', () => {
  it('keeps every path nginx writes in its own directory and proxies with keep-alive, unbuffered', () => {
    const c = nginxConfig({ dir: '/tmp/x', port: 4321, upstream: '127.0.0.1:9999', keepalive: 64 });
    for (const line of [
      'daemon off;',
      'worker_processes 1;',
      'error_log /tmp/x/error.log warn;',
      'pid /tmp/x/nginx.pid;',
      'access_log off;',
      'server 127.0.0.1:9999;',
      'keepalive 64;',
      'listen 127.0.0.1:4321;',
      'proxy_http_version 1.1;',
      'proxy_set_header Connection "";',
      'proxy_buffering off;',
    ])
      assert.ok(c.includes(line), line);
    const paths = [...c.matchAll(/_path (\S+);/g)].map((m) => m[1]!);
    assert.equal(paths.length, 5);
    assert.ok(paths.every((p) => p.startsWith('/tmp/x/')));
  });
});

describe('nginx in front of the trivial upstream', { skip, timeout: 120_000 }, () => {
  let up: TrivialUpstream;
  before(async () => {
    up = await startTrivialUpstream();
  });
  after(() => up.stop());

  it('forwards the instance API, then stops and frees its port and directory', async () => {
    const ng = await startNginx(nginx.ok ? nginx.path : '', up.url);
    try {
      const body = JSON.stringify({ prompt: 'hello', params: { maxTokens: 1 } });
      const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body };
      const direct = await fetch(`${up.url}/generate`, init);
      const proxied = await fetch(`${ng.url}/generate`, init);
      assert.equal(proxied.status, 200);
      assert.equal(proxied.headers.get('x-warmgate-load'), direct.headers.get('x-warmgate-load'));
      assert.equal(await proxied.text(), await direct.text());
    } finally {
      await ng.stop();
    }
    await assert.rejects(fetch(`${ng.url}/ready`));
    assert.equal(existsSync(`/proc/${ng.pid}`), false, 'the nginx process has exited');
  });

  it('passes a stream through as it comes (the rest is sent only after the first part arrived)', async () => {
    let held: ServerResponse | null = null;
    const streamer = createServer((req, res) => {
      if (req.url === '/ready') return res.end('ok');
      if (req.url === '/release') {
        held?.end('second\n');
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('first\n');
      held = res;
    });
    await new Promise<void>((r) => streamer.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(streamer.address() as AddressInfo).port}`;
    const ng = await startNginx(nginx.ok ? nginx.path : '', origin);
    try {
      const res = await fetch(`${ng.url}/stream`);
      const reader = res.body!.getReader();
      const first = await reader.read(); // a proxy that waited for the whole response would hang here
      assert.equal(new TextDecoder().decode(first.value), 'first\n');
      await fetch(`${origin}/release`);
      let rest = '';
      for (let c = await reader.read(); !c.done; c = await reader.read())
        rest += new TextDecoder().decode(c.value);
      assert.equal(rest, 'second\n');
    } finally {
      await ng.stop();
      streamer.closeAllConnections();
      streamer.close();
    }
  });
});
