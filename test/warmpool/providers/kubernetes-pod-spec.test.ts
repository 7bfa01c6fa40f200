import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentSpec } from '../../../gateway/deployments/index.ts';
import {
  podExit,
  podHealth,
  podName,
  podUrl,
  runtimePod,
  specHash,
} from '../../../warmpool/providers/kubernetes/index.ts';

const SCALING = { minInstances: 0, maxInstances: 2, warmBuffer: 0, keepAliveMs: 1000, ttftSloMs: 500 };
const chat: DeploymentSpec = {
  name: 'chat',
  kind: 'generative',
  model: { path: '/models/chat' },
  batching: { maxRunningSeqs: 8, kvCacheBytes: 64 * 2 ** 20 },
  scaling: SCALING,
};
const options = {
  namespace: 'inference',
  image: 'registry.example/warmgate:1',
  gpu: { resource: 'nvidia.com/gpu', count: 1 },
  nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
  tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
  modelVolume: { hostPath: '/srv/models', mountPath: '/models' },
  drainTimeoutMs: 20_500,
} as const;

describe('runtimePod (pure pod spec)', () => {
  it('runs the runtime with the deployment flags, the GPU, placement, probes and discovery labels', () => {
    const pod = runtimePod(chat, 'chat-1', options);
    assert.deepEqual(pod.metadata?.labels, {
      'app.kubernetes.io/managed-by': 'warmgate',
      'warmgate.dev/deployment': 'chat',
      'warmgate.dev/instance': 'chat-1',
    });
    assert.equal(pod.metadata?.name, 'wg-chat-1');
    assert.equal(pod.metadata?.namespace, 'inference');
    assert.equal(pod.metadata?.annotations?.['warmgate.dev/spec-hash'], specHash(chat));
    assert.deepEqual(JSON.parse(pod.metadata!.annotations!['warmgate.dev/deployment-spec']!), chat);
    const spec = pod.spec!;
    assert.equal(spec.restartPolicy, 'Never');
    assert.equal(spec.terminationGracePeriodSeconds, 21); // rounded up: never cut a drain short
    assert.deepEqual(spec.nodeSelector, options.nodeSelector);
    assert.deepEqual(spec.tolerations, options.tolerations);
    assert.deepEqual(spec.volumes, [{ name: 'model', hostPath: { path: '/srv/models', type: 'Directory' } }]);
    const [c, ...more] = spec.containers;
    assert.equal(more.length, 0);
    assert.equal(c!.image, options.image);
    assert.deepEqual(c!.command, ['node']);
    assert.deepEqual(c!.args, [
      'dist/runtime/instance/main.js',
      '--model',
      '/models/chat',
      '--kind',
      'generative',
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
      '--kv-mb',
      '64',
      '--max-running-seqs',
      '8',
    ]);
    assert.deepEqual(c!.resources, {
      limits: { 'nvidia.com/gpu': '1' },
      requests: { 'nvidia.com/gpu': '1' },
    });
    // graphics: the NVIDIA container runtime then mounts the Vulkan ICD that WebGPU runs on.
    assert.equal(
      c!.env?.find((e) => e.name === 'NVIDIA_DRIVER_CAPABILITIES')?.value,
      'compute,utility,graphics',
    );
    assert.deepEqual(c!.readinessProbe?.httpGet, { path: '/ready', port: 8080 });
    assert.deepEqual(c!.livenessProbe?.httpGet, { path: '/live', port: 8080 });
    assert.deepEqual(c!.ports, [{ name: 'http', containerPort: 8080 }]);
    assert.deepEqual(c!.volumeMounts, [{ name: 'model', mountPath: '/models', readOnly: true }]);
    assert.equal(c!.lifecycle, undefined); // no preStop: the runtime drains on SIGTERM itself
  });

  it('mounts a PVC, uses another port, and asks for no resources without a GPU', () => {
    const pod = runtimePod(chat, 'chat-2', {
      namespace: 'ns',
      image: 'img',
      port: 9000,
      modelVolume: { claimName: 'models', mountPath: '/models' },
    });
    const c = pod.spec!.containers[0]!;
    assert.deepEqual(pod.spec!.volumes, [
      { name: 'model', persistentVolumeClaim: { claimName: 'models', readOnly: true } },
    ]);
    assert.equal(c.resources, undefined);
    assert.equal(c.env, undefined, 'no driver capabilities on a CPU pod');
    assert.equal(pod.spec!.nodeSelector, undefined);
    assert.equal(pod.spec!.tolerations, undefined);
    assert.equal(pod.spec!.terminationGracePeriodSeconds, 30);
    assert.deepEqual(c.readinessProbe?.httpGet, { path: '/ready', port: 9000 });
    assert.ok(c.args!.join(' ').includes('--port 9000'));
  });

  it('is pure: same inputs, same pod; the spec hash ignores key order but not values', () => {
    assert.deepEqual(runtimePod(chat, 'chat-1', options), runtimePod(chat, 'chat-1', options));
    const reordered: DeploymentSpec = {
      scaling: { ...SCALING },
      batching: { kvCacheBytes: 64 * 2 ** 20, maxRunningSeqs: 8 },
      model: { path: '/models/chat' },
      kind: 'generative',
      name: 'chat',
    };
    assert.equal(specHash(reordered), specHash(chat));
    assert.notEqual(specHash({ ...chat, batching: { maxRunningSeqs: 9 } }), specHash(chat));
  });

  it('refuses a URL artifact (nothing fetches it yet)', () => {
    const url: DeploymentSpec = { ...chat, model: { url: 'https://x/m', sha256: 'a'.repeat(64) } };
    assert.throws(() => runtimePod(url, 'u-1', options), /URL artifact/);
  });

  it('folds instance ids into DNS-1123 pod names', () => {
    assert.equal(podName('chat_v2.Instance-7'), 'wg-chat-v2.instance-7');
  });
});

describe('pod status → instance health and exit', () => {
  const running = (ready: boolean, podIP?: string) => ({
    status: {
      phase: 'Running',
      ...(podIP && { podIP }),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  });

  it('reads health from phase, the Ready condition, the IP and the deletion timestamp', () => {
    assert.equal(podHealth({ status: { phase: 'Pending' } }), 'starting');
    assert.equal(podHealth(running(false, '10.0.0.1')), 'starting');
    assert.equal(podHealth(running(true)), 'starting'); // no IP: nothing to route to
    assert.equal(podHealth(running(true, '10.0.0.1')), 'ready');
    assert.equal(
      podHealth({ ...running(true, '10.0.0.1'), metadata: { deletionTimestamp: new Date(0) } }),
      'draining',
    );
    assert.equal(podHealth({ status: { phase: 'Failed' } }), 'gone');
    assert.equal(podHealth({ status: { phase: 'Succeeded' } }), 'gone');
  });

  it('builds the URL from the pod IP, bracketing IPv6', () => {
    assert.equal(podUrl(running(true, '10.0.0.1'), 8080), 'http://10.0.0.1:8080');
    assert.equal(podUrl(running(true, 'fd00::1'), 8080), 'http://[fd00::1]:8080');
    assert.equal(podUrl({ status: { phase: 'Pending' } }, 8080), undefined);
  });

  it("takes the exit from the runtime container's terminated state", () => {
    const pod = {
      status: {
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'runtime',
            image: 'img',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: {
              terminated: {
                exitCode: 137,
                signal: 9,
                reason: 'OOMKilled',
                message: 'loading\nout of memory\n',
              },
            },
          },
        ],
      },
    };
    assert.deepEqual(podExit(pod), {
      code: 137,
      signal: 'SIGKILL',
      stderrTail: 'reason: OOMKilled\nloading\nout of memory',
    });
    assert.equal(podExit({ status: { phase: 'Running' } }), undefined);
  });
});

describe('execution providers of a deployment', () => {
  it('reach the runtime as --ep (preference order) and --ep-required; checked in the spec', async () => {
    const { instanceArgs } = await import('../../../warmpool/providers/index.ts');
    const { checkDeployment } = await import('../../../gateway/deployments/index.ts');
    const gpu = checkDeployment({
      name: 'gpu-chat',
      kind: 'generative',
      model: { path: '/models/chat' },
      scaling: { minInstances: 0, maxInstances: 2, warmBuffer: 0, keepAliveMs: 1000, ttftSloMs: 500 },
      runtime: { executionProviders: ['cuda', 'cpu'], requireExecutionProvider: true },
    });
    const args = instanceArgs(gpu, '0.0.0.0', 8080);
    assert.deepEqual(args.slice(args.indexOf('--ep'), args.indexOf('--ep') + 2), ['--ep', 'cuda,cpu']);
    assert.ok(args.includes('--ep-required'));
    const { parseInstanceArgs } = await import('../../../runtime/instance/config.ts');
    const parsed = parseInstanceArgs(args);
    assert.deepEqual(parsed.executionProviders, ['cuda', 'cpu']);
    assert.equal(parsed.requireExecutionProvider, true);
    assert.ok(!instanceArgs({ ...gpu, runtime: undefined }, '0.0.0.0', 8080).includes('--ep'));
    assert.throws(() => checkDeployment({ ...gpu, runtime: { executionProviders: ['rocm'] } }));
    const webgpu = checkDeployment({ ...gpu, runtime: { executionProviders: ['webgpu', 'cpu'] } });
    assert.deepEqual(parseInstanceArgs(instanceArgs(webgpu, '0.0.0.0', 8080)).executionProviders, [
      'webgpu',
      'cpu',
    ]);
    assert.equal(parseInstanceArgs(instanceArgs(webgpu, '0.0.0.0', 8080)).kvDtype, 'float32');
  });

  it('a GPU deployment stores its KV pool as runtime.kvDtype; another type is refused at deploy', async () => {
    const { instanceArgs } = await import('../../../warmpool/providers/index.ts');
    const { checkDeployment } = await import('../../../gateway/deployments/index.ts');
    const { parseInstanceArgs, InstanceArgsError } = await import('../../../runtime/instance/config.ts');
    const spec = {
      name: 'gpu-chat',
      kind: 'generative',
      model: { path: '/models/chat' },
      scaling: { minInstances: 0, maxInstances: 2, warmBuffer: 0, keepAliveMs: 1000, ttftSloMs: 500 },
      runtime: { executionProviders: ['webgpu', 'cpu'], kvDtype: 'float16' },
    };
    const args = instanceArgs(checkDeployment(spec), '0.0.0.0', 8080);
    assert.equal(parseInstanceArgs(args).kvDtype, 'float16');
    assert.throws(() => checkDeployment({ ...spec, runtime: { kvDtype: 'int8' } }));
    assert.throws(
      () => parseInstanceArgs(['--kv-dtype', 'bfloat16']),
      (e: unknown) =>
        e instanceof InstanceArgsError && /--kv-dtype must be float32 or float16/.test(e.message),
    );
  });
});
