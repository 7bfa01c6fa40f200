import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseInstanceArgs } from '../../../runtime/instance/config.ts';
import { listHostGpus, selectGpu } from '../../../runtime/instance/gpu-select.ts';
import { instanceArgs } from '../../../warmpool/providers/index.ts';
import { runtimePod } from '../../../warmpool/providers/kubernetes/pod-spec.ts';
import type { DeploymentSpec } from '../../../gateway/deployments/index.ts';
import { instanceExit } from './helpers.ts';

// The selection reads sysfs and the Vulkan loader's layer folders; these tests write both as files
// under a root of their own (a fake host: no machine here has several GPUs).
const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function fakeHost(devices: [pci: string, cls: string, vendor: string, device: string][]): string {
  const root = mkdtempSync(join(tmpdir(), 'warmgate-gpu-'));
  roots.push(root);
  for (const [pci, cls, vendor, device] of devices) {
    const d = join(root, 'sys/bus/pci/devices', pci);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'class'), `${cls}\n`);
    writeFileSync(join(d, 'vendor'), `${vendor}\n`);
    writeFileSync(join(d, 'device'), `${device}\n`);
  }
  return root;
}

const H100 = (pci: string): [string, string, string, string] => [pci, '0x030200', '0x10de', '0x2330'];
// An 8-GPU server's bus, out of order, with its BMC's VGA (ASPEED) and a NIC that are not GPUs.
const SERVER: [string, string, string, string][] = [
  H100('0000:c6:00.0'),
  ['0000:03:00.0', '0x030000', '0x1a03', '0x2000'],
  H100('0000:1b:00.0'),
  ['0000:17:00.0', '0x020700', '0x15b3', '0x1021'],
  H100('0000:9a:00.0'),
];
// Paths in the environment are the fake host's (under its root), as the loader would read them there.
const ENV = { HOME: '/home', XDG_DATA_DIRS: '/usr/share' };

describe('GPU index: which GPU of a host an instance runs on (fake sysfs and layer folders)', () => {
  it('lists display and 3D controllers of GPU vendors in PCI bus order, nvidia-smi numbering', () => {
    const gpus = listHostGpus(fakeHost(SERVER));
    assert.deepEqual(
      gpus.map((g) => [g.index, g.pci]),
      [
        [0, '0000:1b:00.0'],
        [1, '0000:9a:00.0'],
        [2, '0000:c6:00.0'],
      ],
    );
  });

  it('with several GPUs and the device-select layer installed, hides all but the one asked for', () => {
    const root = fakeHost(SERVER);
    mkdirSync(join(root, 'usr/share/vulkan/implicit_layer.d'), { recursive: true });
    writeFileSync(join(root, 'usr/share/vulkan/implicit_layer.d/VkLayer_MESA_device_select.json'), '{}');
    const sel = selectGpu(2, ENV, root);
    assert.ok(sel.ok);
    assert.equal(sel.gpu.pci, '0000:c6:00.0');
    assert.deepEqual(sel.env, {
      DRI_PRIME: 'pci-0000_c6_00_0',
      MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1',
    });
  });

  it('finds the layer where the loader looks: XDG_DATA_HOME, XDG_DATA_DIRS, /etc', () => {
    for (const dir of ['home/.local/share', 'opt/share', 'etc']) {
      const root = fakeHost(SERVER);
      mkdirSync(join(root, dir, 'vulkan/implicit_layer.d'), { recursive: true });
      writeFileSync(join(root, dir, 'vulkan/implicit_layer.d/VkLayer_MESA_device_select.json'), '{}');
      const sel = selectGpu(0, { ...ENV, XDG_DATA_DIRS: '/opt/share' }, root);
      assert.ok(sel.ok, `layer in ${dir}`);
    }
  });

  it('refuses one of several GPUs without the layer, rather than run on the first', () => {
    const sel = selectGpu(1, ENV, fakeHost(SERVER));
    assert.ok(!sel.ok);
    assert.equal(sel.code, 'gpu_unavailable');
    assert.match(sel.message, /--gpu 1: choosing one of this host's 3 GPUs .*mesa-vulkan-drivers/);
  });

  it('a host with one GPU needs no layer; an index past its GPUs, or no GPU, is refused with the list', () => {
    const one = fakeHost([H100('0000:41:00.0')]);
    const sel = selectGpu(0, ENV, one);
    assert.ok(sel.ok);
    assert.deepEqual(sel.env, {});
    const past = selectGpu(1, ENV, one);
    assert.ok(!past.ok);
    assert.match(
      past.message,
      /--gpu 1: this host has 1 GPU \(0: 0000:41:00\.0 \(NVIDIA 0x2330\)\); pick one/,
    );
    const none = selectGpu(0, {}, fakeHost([['0000:03:00.0', '0x030000', '0x1a03', '0x2000']]));
    assert.ok(!none.ok);
    assert.match(none.message, /no GPU on this host/);
  });

  it('--gpu takes an index for the webgpu provider only', () => {
    assert.equal(parseInstanceArgs(['--ep', 'webgpu,cpu', '--gpu', '3']).gpu, 3);
    assert.equal(parseInstanceArgs(['--ep', 'webgpu']).gpu, undefined);
    assert.throws(() => parseInstanceArgs(['--gpu', '1']), /--gpu picks the GPU the webgpu provider runs on/);
    assert.throws(
      () => parseInstanceArgs(['--ep', 'webgpu', '--gpu', 'one']),
      /--gpu must be an integer ≥ 0/,
    );
  });

  it("a deployment's runtime.gpu reaches local instances, not pods (the device plugin picks theirs)", () => {
    const d: DeploymentSpec = {
      name: 'g',
      kind: 'generative',
      model: { path: '/m' },
      scaling: { minInstances: 1, maxInstances: 1 } as DeploymentSpec['scaling'],
      runtime: { executionProviders: ['webgpu'], gpu: 5 },
    };
    const local = instanceArgs(d, '127.0.0.1', 9000);
    assert.deepEqual(local.slice(local.indexOf('--gpu'), local.indexOf('--gpu') + 2), ['--gpu', '5']);
    const pod = runtimePod(d, 'i1', {
      namespace: 'n',
      image: 'img',
      gpu: { resource: 'nvidia.com/gpu', count: 1 },
    });
    assert.ok(!pod.spec!.containers[0]!.args!.includes('--gpu'));
  });

  it('an instance asked for a GPU this host does not have exits 1 saying which it has (real process)', async () => {
    const { code, stderr: err } = await instanceExit(['--ep', 'webgpu,cpu', '--gpu', '63']);
    assert.equal(code, 1);
    assert.match(
      err,
      /instance failed to start \(gpu_unavailable\): --gpu 63: (no GPU on this host|this host has \d+ GPU)/,
    );
  });
});
