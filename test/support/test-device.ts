import type { KvDtype, LoadOptions } from '../../runtime/model/index.ts';

/**
 * Where the engine's tests run the model. CI: the CPU with host KV pools (the defaults). `npm run
 * test:gpu` runs the same tests with WARMGATE_TEST_EP=webgpu and WARMGATE_TEST_KV=device (or
 * device-fp16): the model on the GPU, its KV pool resident there. The reference stays on the CPU.
 */
export const TEST_EP = process.env.WARMGATE_TEST_EP ?? 'cpu';
const kv = process.env.WARMGATE_TEST_KV ?? 'host';
if (!['host', 'device', 'device-fp16'].includes(kv))
  throw new Error(`WARMGATE_TEST_KV must be host, device or device-fp16, got ${kv}`);
export const TEST_KV: KvDtype | null = kv === 'host' ? null : kv === 'device' ? 'float32' : 'float16';

/** Load options for the model under test, on the configured provider and KV pool. */
export function testLoadOptions(o: LoadOptions = {}): LoadOptions {
  return {
    ...o,
    executionProviders: TEST_EP === 'cpu' ? ['cpu'] : [TEST_EP, 'cpu'],
    ...(TEST_KV && { deviceKv: TEST_KV }),
  };
}

/** "cpu, host KV" and the like, for test names and diagnostics. */
export const TEST_DEVICE = `${TEST_EP}, ${TEST_KV ? `device KV ${TEST_KV}` : 'host KV'}`;
