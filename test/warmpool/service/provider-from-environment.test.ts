import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readEnvironment } from '../../../gateway/config/environment.ts';
import { CONTROLLER_ENVIRONMENT } from '../../../warmpool/config/controller-environment.ts';
import { runtimePod } from '../../../warmpool/providers/kubernetes/index.ts';
import { podOptionsFrom } from '../../../warmpool/service/provider-from-environment.ts';

const env = (vars: Record<string, string>) =>
  readEnvironment(CONTROLLER_ENVIRONMENT, {
    REDIS_URL: 'redis://r',
    WARMGATE_PROVIDER: 'kubernetes',
    ...vars,
  }).values;

describe('runtime pod options from the controller environment', () => {
  it('GPU defaults reach the runtime pod: resources, node selector, tolerations, model claim', () => {
    const o = podOptionsFrom(
      env({
        WARMGATE_RUNTIME_IMAGE: 'registry.example/warmgate:1.0',
        WARMGATE_RUNTIME_GPUS: '1',
        WARMGATE_RUNTIME_NODE_SELECTOR: '{"nvidia.com/gpu.present":"true"}',
        WARMGATE_RUNTIME_TOLERATIONS: '[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}]',
        WARMGATE_RUNTIME_MODEL_CLAIM: 'models',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
      }),
      () => 'serving',
    );
    const pod = runtimePod(
      { name: 'chat', kind: 'generative', model: { path: '/models/chat' } } as never,
      'chat-0001',
      o,
    );
    const c = pod.spec!.containers[0]!;
    assert.equal(pod.metadata!.namespace, 'serving', "the pod's own namespace by default");
    assert.equal(c.image, 'registry.example/warmgate:1.0');
    assert.deepEqual(c.resources, { limits: { 'nvidia.com/gpu': '1' }, requests: { 'nvidia.com/gpu': '1' } });
    assert.deepEqual(pod.spec!.nodeSelector, { 'nvidia.com/gpu.present': 'true' });
    assert.equal(pod.spec!.tolerations![0]!.key, 'nvidia.com/gpu');
    assert.deepEqual(pod.spec!.volumes![0]!.persistentVolumeClaim, { claimName: 'models', readOnly: true });
    assert.equal(c.volumeMounts![0]!.mountPath, '/models');
    assert.equal(c.ports![0]!.containerPort, 8080);
    // A GPU pod also asks the NVIDIA container runtime for the graphics capability (WebGPU's Vulkan ICD).
    assert.deepEqual(c.env, [
      { name: 'NVIDIA_DRIVER_CAPABILITIES', value: 'compute,utility,graphics' },
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector:4318' },
    ]);
    assert.equal(pod.metadata!.annotations!['prometheus.io/port'], '8080');
    assert.equal(pod.metadata!.annotations!['prometheus.io/path'], '/metrics');
  });

  it('a CPU pod without GPUs; a missing image or namespace is named', () => {
    const o = podOptionsFrom(env({ WARMGATE_RUNTIME_IMAGE: 'img', WARMGATE_NAMESPACE: 'ns' }));
    assert.equal(o.gpu, undefined);
    assert.throws(() => podOptionsFrom(env({})), /WARMGATE_RUNTIME_IMAGE/);
    assert.throws(
      () =>
        podOptionsFrom(env({ WARMGATE_RUNTIME_IMAGE: 'img' }), () => {
          throw new Error('ENOENT');
        }),
      /WARMGATE_NAMESPACE/,
    );
  });
});
