import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** A GPU of this host, numbered in PCI bus order (nvidia-smi's numbering on an NVIDIA host). */
export interface HostGpu {
  readonly index: number;
  /** PCI address, domain:bus:device.function, as /sys/bus/pci/devices names it. */
  readonly pci: string;
  readonly vendor: string;
  readonly device: string;
}

// Display and 3D controllers of vendors with a Vulkan driver; a server's BMC VGA (ASPEED) is neither.
const GPU_VENDORS: Record<string, string> = { '0x10de': 'NVIDIA', '0x1002': 'AMD', '0x8086': 'Intel' };
const LAYER_MANIFEST = 'VkLayer_MESA_device_select.json';

/** The host's GPUs from sysfs (`root` is / on a real host; tests pass a tree of their own). */
export function listHostGpus(root = '/'): HostGpu[] {
  const dir = join(root, 'sys/bus/pci/devices');
  if (!existsSync(dir)) return [];
  const read = (addr: string, file: string) => {
    try {
      return readFileSync(join(dir, addr, file), 'utf8')
        .trim()
        .toLowerCase();
    } catch {
      return '';
    }
  };
  return readdirSync(dir)
    .filter((addr) => read(addr, 'class').startsWith('0x03') && read(addr, 'vendor') in GPU_VENDORS)
    .sort() // fixed-width hex addresses: string order is bus order
    .map((pci, index) => ({ index, pci, vendor: read(pci, 'vendor'), device: read(pci, 'device') }));
}

/**
 * Where the Vulkan loader looks for implicit layers (Linux): Mesa's device-select layer must be in one
 * of them for a process to see one GPU of several.
 */
export function implicitLayerDirs(env: NodeJS.ProcessEnv, root = '/'): string[] {
  const data = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local/share');
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':').filter(Boolean);
  const configDirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':').filter(Boolean);
  const extra = [env.VK_IMPLICIT_LAYER_PATH, env.VK_ADD_IMPLICIT_LAYER_PATH]
    .flatMap((p) => (p ? p.split(':') : []))
    .filter(Boolean);
  const standard = [...configDirs, '/etc', data, ...dataDirs].map((d) => join(d, 'vulkan/implicit_layer.d'));
  return [...extra, ...standard].map((d) => join(root, d));
}

export type GpuSelection =
  | {
      readonly ok: true;
      readonly gpu: HostGpu;
      /** Set in the process before the WebGPU device opens: Vulkan then lists only this GPU. */
      readonly env: Record<string, string>;
    }
  | { readonly ok: false; readonly code: 'gpu_unavailable'; readonly message: string };

/**
 * Pins the process to GPU `index` of this host. ONNX Runtime's WebGPU provider takes the first adapter
 * Vulkan lists and has no option to pick another, so the choice is made below it: Mesa's device-select
 * layer, told the GPU's PCI address (DRI_PRIME=pci-…) and to list no other device, hides the rest. On a
 * host with one GPU nothing needs hiding. Asking for a GPU that is not there, or for one of several
 * without the layer (which would quietly run on the first), is refused with what to do.
 */
export function selectGpu(index: number, env: NodeJS.ProcessEnv, root = '/'): GpuSelection {
  const gpus = listHostGpus(root);
  const list = gpus.map((g) => `${g.index}: ${g.pci} (${GPU_VENDORS[g.vendor]} ${g.device})`).join(', ');
  if (gpus.length === 0)
    return fail(
      `--gpu ${index}: no GPU on this host (no NVIDIA, AMD or Intel display controller on the PCI bus)`,
    );
  const gpu = gpus[index];
  if (!gpu)
    return fail(
      `--gpu ${index}: this host has ${gpus.length} GPU${gpus.length > 1 ? 's' : ''} (${list}); pick one of them`,
    );
  if (gpus.length === 1) return { ok: true, gpu, env: {} };
  const dirs = implicitLayerDirs(env, root);
  if (!dirs.some((d) => existsSync(join(d, LAYER_MANIFEST))))
    return fail(
      `--gpu ${index}: choosing one of this host's ${gpus.length} GPUs (${list}) needs Mesa's Vulkan device-select layer, ${LAYER_MANIFEST}, which is in none of ${dirs.join(', ')}: install it (Debian: mesa-vulkan-drivers) or give each instance its own GPU some other way (a container with one GPU)`,
    );
  const [domain, bus, rest] = gpu.pci.split(':') as [string, string, string];
  const [dev, fn] = rest.split('.') as [string, string];
  return {
    ok: true,
    gpu,
    env: { DRI_PRIME: `pci-${domain}_${bus}_${dev}_${fn}`, MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1' },
  };
}

const fail = (message: string): GpuSelection => ({ ok: false, code: 'gpu_unavailable', message });
