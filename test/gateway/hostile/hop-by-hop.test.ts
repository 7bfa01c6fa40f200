// What crosses the gateway, in both directions, and where it may call. A recording proxy in front of a
// real tiny instance (registered as the instance of deployment 'via') sees exactly what the gateway
// sends upstream, and answers with hop-by-hop and private headers that must not reach the client. A
// decoy server counts every connection: no Host header, absolute-form URL, model name, X-Forwarded-*
// header or body field may make the gateway call it.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { deployment, type Platform, startPlatform } from '../../support/platform.ts';

const listen = async (s: Server) => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
};

/** One raw HTTP/1.1 exchange on a fresh connection, read until the server closes it. */
function raw(hostPort: string, bytes: string): Promise<{ head: string; body: string }> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), host, () => s.write(bytes));
    let out = '';
    s.on('data', (d) => (out += d.toString('utf8')));
    s.on('end', () => {
      const i = out.indexOf('\r\n\r\n');
      resolve({ head: out.slice(0, i).toLowerCase(), body: out.slice(i + 4) });
    });
    s.on('error', reject);
  });
}

const HOSTILE_REQUEST_HEADERS = [
  'Connection: close, x-drop-me',
  'X-Drop-Me: 1',
  'Keep-Alive: timeout=999',
  'TE: trailers',
  'Trailer: x-after',
  'Upgrade: h2c',
  'Proxy-Authorization: Basic c2VjcmV0',
  'Proxy-Connection: keep-alive',
  'Authorization: Bearer sk-client-secret',
  'Cookie: session=secret',
  'X-Forwarded-For: 10.0.0.1',
  'X-Forwarded-Host: evil.invalid',
  'X-Forwarded-Proto: https',
  'Forwarded: for=10.0.0.1;host=evil.invalid',
  'X-Real-IP: 10.0.0.1',
];

/** Request headers of the client's that must not reach an instance. */
const NOT_UPSTREAM = [
  'connection',
  'x-drop-me',
  'keep-alive',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-connection',
  'authorization',
  'cookie',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'forwarded',
  'x-real-ip',
];

describe('hop-by-hop headers and upstream addresses', () => {
  let p: Platform;
  let gateway: string;
  let proxy: Server;
  let proxyAt: string;
  let decoy: Server;
  let decoyAt: string;
  let decoyHits = 0;
  const seen: IncomingHttpHeaders[] = [];

  before(async () => {
    p = await startPlatform({
      deployments: [
        { spec: deployment('tiny', 'generative', 'tiny') },
        { spec: deployment('via', 'generative', 'tiny'), instances: 0 },
      ],
    });
    gateway = p.url.replace('http://', '');
    const target = new URL(p.instances[0]!.launched.url);
    proxy = createServer((req, res) => {
      if (req.url === '/generate') seen.push(req.headers);
      const up = httpRequest(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (ur) => {
          res.writeHead(ur.statusCode!, {
            ...ur.headers,
            connection: 'x-leak',
            'x-leak': '1',
            'keep-alive': 'timeout=99',
            'proxy-authenticate': 'Basic realm=x',
            'x-instance-private': 'secret',
            'set-cookie': 'instance=1',
          });
          ur.pipe(res);
        },
      );
      req.pipe(up);
    });
    proxyAt = await listen(proxy);
    await p.gateway.gateway.registry.add('via', `http://${proxyAt}`);
    decoy = createServer((_req, res) => res.end('{}'));
    decoy.on('connection', () => decoyHits++);
    decoyAt = await listen(decoy);
  });
  after(async () => {
    await p?.close();
    proxy?.closeAllConnections();
    decoy?.closeAllConnections();
    await new Promise((r) => proxy?.close(r));
    await new Promise((r) => decoy?.close(r));
  });

  const exchange = (path: string, body: object, extra: string[] = []) => {
    const json = JSON.stringify(body);
    return raw(
      gateway,
      [
        `POST ${path} HTTP/1.1`,
        `Host: ${gateway}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(json)}`,
        ...extra,
        ...(extra.some((h) => /^connection:/i.test(h)) ? [] : ['Connection: close']),
        '',
        json,
      ].join('\r\n'),
    );
  };

  for (const stream of [false, true]) {
    it(`stripped both ways (${stream ? 'streaming' : 'whole'} answer)`, async () => {
      seen.length = 0;
      const r = await exchange(
        '/v1/completions',
        { model: 'via', prompt: 'Hello', max_tokens: 2, stream },
        HOSTILE_REQUEST_HEADERS,
      );
      assert.match(r.head, /^http\/1\.1 200/, r.body);
      assert.equal(seen.length, 1, 'the request reached the instance through the proxy');
      const up = seen[0]!;
      // The gateway's own connection to the instance says keep-alive; the client's Connection stays behind.
      assert.ok([undefined, 'keep-alive'].includes(up.connection), `connection: ${up.connection}`);
      for (const h of NOT_UPSTREAM.filter((n) => n !== 'connection')) {
        assert.equal(up[h], undefined, `${h} reached the instance: ${up[h]}`);
      }
      assert.equal(up.host, proxyAt, 'Host is the instance, not the client');
      for (const h of [
        'x-leak',
        'proxy-authenticate',
        'x-instance-private',
        'set-cookie',
        'keep-alive: timeout=99',
      ]) {
        assert.ok(!r.head.includes(h), `${h} reached the client:\n${r.head}`);
      }
      assert.ok(!/^connection:.*x-leak/m.test(r.head));
    });
  }

  it('no request can choose the address the gateway calls', async () => {
    const before = decoyHits;
    const decoyUrl = `http://${decoyAt}`;
    const models = [
      decoyUrl,
      `${decoyUrl}/generate`,
      `//${decoyAt}`,
      '../x',
      `../${decoyAt}`,
      decoyAt,
      '@' + decoyAt,
    ];
    const attempts: Promise<{ head: string }>[] = [];
    for (const model of models) {
      attempts.push(exchange('/v1/completions', { model, prompt: 'Hi', max_tokens: 1 }));
      attempts.push(exchange(`/v1/functions/${encodeURIComponent(model)}`, { prompt: 'Hi' }));
      attempts.push(exchange(`/v2/models/${encodeURIComponent(model)}/infer`, { inputs: [] }));
    }
    const steer = [
      `Host: ${decoyAt}`,
      `X-Forwarded-Host: ${decoyAt}`,
      `Forwarded: host=${decoyAt}`,
      `X-Original-URL: ${decoyUrl}/generate`,
      `X-Rewrite-URL: ${decoyUrl}/generate`,
    ];
    for (const h of steer) {
      attempts.push(exchange('/v1/completions', { model: 'tiny', prompt: 'Hi', max_tokens: 1 }, [h]));
    }
    const fields = {
      url: decoyUrl,
      base_url: decoyUrl,
      endpoint: decoyUrl,
      instance: decoyUrl,
      host: decoyAt,
    };
    attempts.push(exchange('/v1/completions', { model: 'tiny', prompt: 'Hi', max_tokens: 1, ...fields }));
    attempts.push(exchange('/v1/functions/tiny', { prompt: 'Hi', max_tokens: 1, ...fields }));
    // Absolute-form request targets, as a forward proxy would receive them.
    const body = JSON.stringify({ model: 'tiny', prompt: 'Hi', max_tokens: 1 });
    for (const target of [`${decoyUrl}/v1/completions`, `${decoyUrl}/generate`]) {
      attempts.push(
        raw(
          gateway,
          `POST ${target} HTTP/1.1\r\nHost: ${decoyAt}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        ),
      );
    }
    const answers = await Promise.all(attempts);
    for (const a of answers) assert.match(a.head, /^http\/1\.1 [24]\d\d/, a.head);
    assert.equal(decoyHits - before, 0, 'the decoy was called');
  });
});
