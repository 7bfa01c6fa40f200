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
/**
 * The device step's attention (WARMGATE_TEST_ATTENTION=fused or paged); unset, the loader's own choice:
 * PagedAttention on WebGPU with float16 pools, the fused step elsewhere.
 */
const attention = (process.env.WARMGATE_TEST_ATTENTION || undefined) as 'fused' | 'paged' | undefined;
if (attention !== undefined && attention !== 'fused' && attention !== 'paged')
  throw new Error(`WARMGATE_TEST_ATTENTION must be fused or paged, got ${attention}`);

/**
 * The device step's compute type (WARMGATE_TEST_COMPUTE=float16 or float32); unset, the loader's choice
 * (float32 for the tests' float32 models). float16 runs where the step can (paged, no adapters).
 */
const compute = (process.env.WARMGATE_TEST_COMPUTE || undefined) as 'float32' | 'float16' | undefined;
if (compute !== undefined && compute !== 'float32' && compute !== 'float16')
  throw new Error(`WARMGATE_TEST_COMPUTE must be float32 or float16, got ${compute}`);

/** Load options for the model under test, on the configured provider and KV pool. */
export function testLoadOptions(o: LoadOptions = {}): LoadOptions {
  return {
    ...o,
    executionProviders: TEST_EP === 'cpu' ? ['cpu'] : [TEST_EP, 'cpu'],
    ...(TEST_KV && { deviceKv: TEST_KV }),
    ...(attention && { deviceAttention: attention }),
    ...(compute && { deviceCompute: compute }),
  };
}

/** "cpu, host KV" and the like, for test names and diagnostics. */
export const TEST_DEVICE = `${TEST_EP}, ${TEST_KV ? `device KV ${TEST_KV}` : 'host KV'}${attention ? `, ${attention} attention` : ''}${compute ? `, ${compute} step` : ''}`;

/**
 * PagedAttention runs the tests' steps (WebGPU, float16 pools, the loader's choice): its kernel takes
 * blocks of a power of two of 16 tokens or more, so the tests' small blocks grow to 16 there, the pools
 * keeping their token capacity. WARMGATE_TEST_MIN_BLOCK=16 does the same on the CPU, to check the tests
 * themselves at that size.
 */
export const TEST_PAGED = TEST_EP === 'webgpu' && TEST_KV === 'float16' && attention !== 'fused';
/**
 * The paged step computes in float16 (WARMGATE_TEST_COMPUTE=float16): weights and activations rounded to
 * 11 significant bits, so the tests' bounds against the float32 reference widen (each test says how far).
 */
export const TEST_HALF_STEP = TEST_PAGED && compute === 'float16';
const minBlock = TEST_PAGED ? 16 : Number(process.env.WARMGATE_TEST_MIN_BLOCK ?? 1);

/** A test's block size on this device. */
export const testBlockSize = (blockSize: number): number => Math.max(blockSize, minBlock);

/** A test's pool of `blocks` blocks of `blockSize`, in blocks of testBlockSize(blockSize): the same tokens. */
export const testPoolBlocks = (blocks: number, blockSize: number): number =>
  Math.ceil((blocks * blockSize) / testBlockSize(blockSize));
