import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { KubeConfig, type V1Pod, type V1PodStatus } from '@kubernetes/client-node';
import type { DeploymentSpec } from '../../../gateway/deployments/index.ts';
import { WarmPool } from '../../../warmpool/pool/index.ts';
import type { ProviderInstance } from '../../../warmpool/providers/index.ts';
import {
  KubernetesProvider,
  type PodOptions,
  runtimePod,
} from '../../../warmpool/providers/kubernetes/index.ts';

/** A pod as JSON on the wire, typed as far as the fake reads it. */
interface FakePod {
  metadata: { name: string; labels?: Record<string, string>; [k: string]: unknown };
  status?: unknown;
  [k: string]: unknown;
}

/**
 * A fake Kubernetes API server: just the pod endpoints the provider uses, pods kept in memory. No cluster
 * runs here, so status changes the kubelet would make are made by the test (setStatus, terminate, remove).
 */
class FakeApiServer {
  readonly pods = new Map<string, FakePod>(); // key: ns/name
  readonly requests: { method: string; path: string; query: URLSearchParams; body?: unknown }[] = [];
  readonly events = new EventEmitter();
  readonly #server = createServer((req, res) => void this.#handle(req, res));
  #uid = 0;

  async listen(): Promise<string> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
  }

  pod(ns: string, name: string): FakePod {
    const p = this.pods.get(`${ns}/${name}`);
    assert.ok(p, `pod ${ns}/${name} exists`);
    return p;
  }

  setStatus(ns: string, name: string, status: V1PodStatus): void {
    this.pod(ns, name).status = status;
  }

  /** The runtime container ended (the kubelet's report). */
  terminate(ns: string, name: string, t: { exitCode: number; reason?: string; message?: string }): void {
    this.setStatus(ns, name, {
      phase: t.exitCode === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: [
        {
          name: 'runtime',
          image: 'img',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { ...t, finishedAt: new Date() } },
        },
      ],
    });
  }

  remove(ns: string, name: string): void {
    this.pods.delete(`${ns}/${name}`);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, 'http://x');
    let raw = '';
    for await (const c of req) raw += c;
    const body = raw ? (JSON.parse(raw) as FakePod) : undefined;
    this.requests.push({ method: req.method!, path: url.pathname, query: url.searchParams, body });
    const send = (code: number, v: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    const status = (code: number, reason: string, message: string) =>
      send(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return status(404, 'NotFound', `no route ${url.pathname}`);
    const [, ns, name] = m as unknown as [string, string, string | undefined];
    if (req.method === 'POST' && !name) {
      const n = body!.metadata.name as string;
      if (this.pods.has(`${ns}/${n}`)) return status(409, 'AlreadyExists', `pods "${n}" already exists`);
      const pod = {
        ...body,
        metadata: {
          ...body!.metadata,
          namespace: ns,
          uid: `uid-${++this.#uid}`,
          creationTimestamp: new Date(),
        },
        status: { phase: 'Pending' },
      };
      this.pods.set(`${ns}/${n}`, pod);
      return send(201, pod);
    }
    if (req.method === 'GET' && !name) {
      const want = (url.searchParams.get('labelSelector') ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('=') as [string, string]);
      const items = [...this.pods.entries()]
        .filter(([k]) => k.startsWith(`${ns}/`))
        .map(([, p]) => p)
        .filter((p) => want.every(([k, v]) => p.metadata.labels?.[k] === v));
      return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items });
    }
    const pod = name && this.pods.get(`${ns}/${name}`);
    if (!pod) return status(404, 'NotFound', `pods "${name}" not found`);
    if (req.method === 'GET') return send(200, pod);
    if (req.method === 'DELETE') {
      // Like the API server: a graceful delete only marks the pod; the kubelet removes it later.
      const grace = Number(url.searchParams.get('gracePeriodSeconds') ?? 30);
      if (grace === 0) this.pods.delete(`${ns}/${name}`);
      else
        pod.metadata = { ...pod.metadata, deletionTimestamp: new Date(), deletionGracePeriodSeconds: grace };
      send(200, pod);
      this.events.emit('delete', name, grace);
      return;
    }
    return status(405, 'MethodNotAllowed', req.method!);
  }
}

const NS = 'inference';
const SCALING = { minInstances: 0, maxInstances: 2, warmBuffer: 0, keepAliveMs: 1000, ttftSloMs: 500 };
const chat: DeploymentSpec = {
  name: 'chat',
  kind: 'generative',
  model: { path: '/models/chat' },
  batching: { maxRunningSeqs: 8 },
  scaling: SCALING,
};
const embed: DeploymentSpec = {
  name: 'embed',
  kind: 'tensor',
  model: { path: '/models/embed' },
  scaling: SCALING,
};
const POD: PodOptions = {
  namespace: NS,
  image: 'registry.example/warmgate:1',
  gpu: { resource: 'nvidia.com/gpu', count: 1 },
  nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
  tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
  modelVolume: { claimName: 'models', mountPath: '/models' },
};
const readyStatus = (podIP: string): V1PodStatus => ({
  phase: 'Running',
  podIP,
  conditions: [{ type: 'Ready', status: 'True' }],
});

describe('kubernetes provider against a fake API server (no cluster here)', () => {
  const fake = new FakeApiServer();
  let kubeConfig: KubeConfig;
  const provider = () => new KubernetesProvider({ kubeConfig, pod: POD, pollIntervalMs: 10 });

  before(async () => {
    const server = await fake.listen();
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'fake', server, skipTLSVerify: true }],
      users: [{ name: 'warmgate' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'warmgate', namespace: NS }],
      currentContext: 'fake',
    });
  });
  after(() => fake.close());
  beforeEach(() => {
    fake.pods.clear();
    fake.requests.length = 0;
  });

  it('start creates exactly the expected pod: GPU, node selector, tolerations, probes, labels (fake API server)', async () => {
    const p = provider();
    const i = await p.start({ deployment: chat, instanceId: 'chat-1' });
    const posts = fake.requests.filter((r) => r.method === 'POST');
    assert.equal(posts.length, 1);
    assert.equal(posts[0]!.path, `/api/v1/namespaces/${NS}/pods`);
    // What reached the server is the pure pod spec, nothing dropped or added on the way.
    assert.deepEqual(posts[0]!.body, JSON.parse(JSON.stringify(runtimePod(chat, 'chat-1', POD))));
    const sent = posts[0]!.body as V1Pod;
    const c = sent.spec!.containers[0]!;
    assert.deepEqual(c.resources?.limits, { 'nvidia.com/gpu': '1' });
    assert.deepEqual(sent.spec!.nodeSelector, POD.nodeSelector);
    assert.deepEqual(sent.spec!.tolerations, POD.tolerations);
    assert.equal(c.readinessProbe?.httpGet?.path, '/ready');
    assert.equal(c.livenessProbe?.httpGet?.path, '/live');
    assert.equal(sent.metadata?.labels?.['app.kubernetes.io/managed-by'], 'warmgate');
    assert.equal(sent.metadata?.labels?.['warmgate.dev/instance'], 'chat-1');
    assert.equal(i.id, 'chat-1');
    assert.equal(i.url, ''); // no pod IP yet
    await assert.rejects(p.start({ deployment: chat, instanceId: 'chat-1' }), /already exists/);
  });

  it('health goes starting → ready → draining → gone, with the URL from the pod IP (fake API server)', async () => {
    const p = provider();
    const i = await p.start({ deployment: chat, instanceId: 'chat-2' });
    assert.equal(await p.health('chat-2'), 'starting'); // Pending
    fake.setStatus(NS, 'wg-chat-2', {
      phase: 'Running',
      podIP: '10.1.2.3',
      conditions: [{ type: 'Ready', status: 'False' }],
    });
    assert.equal(await p.health('chat-2'), 'starting'); // loading or warming: /ready not yet 200
    fake.setStatus(NS, 'wg-chat-2', readyStatus('10.1.2.3'));
    assert.equal(await p.health('chat-2'), 'ready');
    assert.equal(i.url, 'http://10.1.2.3:8080');

    const deleted = once(fake.events, 'delete');
    const stopping = p.stop('chat-2', { drainTimeoutMs: 20_000 });
    assert.deepEqual(await deleted, ['wg-chat-2', 20]); // the grace period is the drain timeout
    assert.equal(await p.health('chat-2'), 'draining');
    assert.equal(p.exitOf('chat-2'), undefined);
    fake.terminate(NS, 'wg-chat-2', { exitCode: 0, reason: 'Completed' });
    const exit = await stopping;
    assert.equal(exit?.code, 0);
    fake.remove(NS, 'wg-chat-2');
    assert.equal(await p.health('chat-2'), 'gone');
    assert.equal(p.exitOf('chat-2')?.code, 0);
  });

  it('a pod deleted from outside is gone, and stop of a missing pod resolves (fake API server)', async () => {
    const p = provider();
    await p.start({ deployment: chat, instanceId: 'chat-3' });
    fake.remove(NS, 'wg-chat-3');
    assert.equal(await p.health('chat-3'), 'gone');
    assert.equal(p.exitOf('chat-3'), undefined);
    assert.equal(await p.stop('chat-3', { drainTimeoutMs: 1000 }), undefined);
    assert.equal(await p.health('never-started'), 'gone');
  });

  it('a new provider (controller restart) adopts the pods by label (fake API server)', async () => {
    const before = provider();
    await before.start({ deployment: chat, instanceId: 'chat-4' });
    await before.start({ deployment: embed, instanceId: 'embed-1' });
    await before.start({ deployment: chat, instanceId: 'chat-5' });
    fake.setStatus(NS, 'wg-chat-4', readyStatus('10.1.2.4'));
    fake.terminate(NS, 'wg-chat-5', { exitCode: 1, message: 'crashed' }); // finished: not adopted
    // A pod that warmgate does not manage, in the same namespace.
    fake.pods.set(`${NS}/other`, {
      metadata: { name: 'other', labels: { app: 'other' } },
      status: { phase: 'Running' },
    });

    const after = provider();
    const listed = await after.list();
    const listCall = fake.requests.find(
      (r) => r.method === 'GET' && r.path === `/api/v1/namespaces/${NS}/pods`,
    );
    assert.equal(listCall?.query.get('labelSelector'), 'app.kubernetes.io/managed-by=warmgate');
    const byId = new Map(listed.map((i) => [i.id, i]));
    assert.deepEqual([...byId.keys()].sort(), ['chat-4', 'embed-1']);
    assert.deepEqual(byId.get('chat-4')!.deployment, chat);
    assert.deepEqual(byId.get('embed-1')!.deployment, embed);
    assert.equal(byId.get('chat-4')!.url, 'http://10.1.2.4:8080');
    assert.equal(await after.health('chat-4'), 'ready');
    assert.equal(await after.health('embed-1'), 'starting');
    assert.ok(byId.get('chat-4')!.startedAt > 0);
    // The adopted instance is stopped like one this provider started.
    const deleted = once(fake.events, 'delete');
    const stopping = after.stop('embed-1', { drainTimeoutMs: 5000 });
    assert.deepEqual(await deleted, ['wg-embed-1', 5]);
    fake.terminate(NS, 'wg-embed-1', { exitCode: 0 });
    assert.equal((await stopping)?.code, 0);
  });

  it("a Failed pod is gone and exitOf carries the container's exit code and message (fake API server)", async () => {
    const p = provider();
    await p.start({ deployment: chat, instanceId: 'chat-6' });
    fake.terminate(NS, 'wg-chat-6', {
      exitCode: 1,
      reason: 'Error',
      message: 'loading /models/chat\nError: model.onnx: no such file\n',
    });
    assert.equal(await p.health('chat-6'), 'gone');
    assert.deepEqual(p.exitOf('chat-6'), {
      code: 1,
      signal: null,
      stderrTail: 'reason: Error\nloading /models/chat\nError: model.onnx: no such file',
    });
    // Gone stays gone with its exit, even once the pod object is cleaned up.
    fake.remove(NS, 'wg-chat-6');
    assert.equal(await p.health('chat-6'), 'gone');
    assert.equal(p.exitOf('chat-6')?.code, 1);
  });

  it('an API error other than not-found reaches the caller (fake API server)', async () => {
    const p = provider();
    const url: DeploymentSpec = { ...chat, model: { url: 'https://x/m', sha256: 'a'.repeat(64) } };
    await assert.rejects(p.start({ deployment: url, instanceId: 'u-1' }), /URL artifact/);
    assert.equal(fake.requests.length, 0); // refused before any pod was made
    fake.pods.set(`${NS}/wg-chat-7`, { metadata: { name: 'wg-chat-7' } });
    await assert.rejects(
      p.start({ deployment: chat, instanceId: 'chat-7' }),
      (e: Error & { code?: number }) => e.code === 409,
    );
    assert.equal(await p.health('chat-7'), 'gone'); // never became one of its instances
  });

  it('a warm pool over it routes to the pod once Ready and reports a crash with its message (fake API server)', async () => {
    const ready: ProviderInstance[] = [];
    const gone: string[] = [];
    let n = 0;
    const pool = new WarmPool({
      deployment: chat,
      provider: provider(),
      newId: () => `chat-${++n}`, // names the assertions can use (the default ids are random)
      hooks: { onReady: (i) => ready.push(i), onGone: (_, how) => gone.push(how.reason ?? how.state) },
    });
    await pool.reconcile(1, 1000);
    assert.ok(fake.pods.has(`${NS}/wg-chat-1`));
    await pool.reconcile(1, 2000);
    assert.equal(ready.length, 0);
    fake.setStatus(NS, 'wg-chat-1', readyStatus('10.1.2.9'));
    await pool.reconcile(1, 3000);
    assert.deepEqual(
      ready.map((i) => [i.id, i.url]),
      [['chat-1', 'http://10.1.2.9:8080']],
    );
    fake.terminate(NS, 'wg-chat-1', { exitCode: 1, reason: 'Error', message: 'boom' });
    await pool.reconcile(1, 4000);
    assert.deepEqual(gone, ['exit code 1: boom']);
    assert.ok(fake.pods.has(`${NS}/wg-chat-2`)); // a crash after ready is replaced at once
  });
});
