// The platform as tests use it: real runtime instance processes (started through tsx) behind an
// in-process gateway on a free loopback port. Always pair with `after(() => p.close())`.
import { launchInstance, type LaunchedInstance } from '../../runtime/instance/launch.ts';
import type { Telemetry } from '../../runtime/telemetry/index.ts';
import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import { type RunningGateway, startGateway, type StartGatewayOptions } from '../../gateway/server/index.ts';

export const MODELS = new URL('../../runtime/models/', import.meta.url).pathname;

/** The admin token of every platform tests start (the admin API is never open without one). */
export const ADMIN_TOKEN = 'test-admin-token';
/** Headers that pass the admin API's check. */
export const ADMIN_HEADERS: Readonly<Record<string, string>> = { authorization: `Bearer ${ADMIN_TOKEN}` };

export const SCALING = {
  minInstances: 1,
  maxInstances: 4,
  warmBuffer: 0,
  keepAliveMs: 60_000,
  ttftSloMs: 1000,
};

export interface PlatformInstance {
  readonly deployment: string;
  readonly launched: LaunchedInstance;
}

export interface Platform {
  readonly url: string;
  readonly gateway: RunningGateway;
  readonly instances: PlatformInstance[];
  close(): Promise<void>;
}

export interface PlatformOptions extends Omit<StartGatewayOptions, 'instances' | 'deployments'> {
  /** Each deployment with how many instance processes to start for it and their extra flags. */
  readonly deployments: readonly { spec: DeploymentSpec; instances?: number; args?: readonly string[] }[];
  readonly telemetry?: Telemetry;
}

export function deployment(
  name: string,
  kind: 'generative' | 'tensor',
  model: string,
  extra: Partial<DeploymentSpec> = {},
): DeploymentSpec {
  return { name, kind, model: { path: `${MODELS}${model}` }, scaling: SCALING, ...extra };
}

export async function startPlatform(o: PlatformOptions): Promise<Platform> {
  const launched: PlatformInstance[] = [];
  try {
    await Promise.all(
      o.deployments.flatMap(({ spec, instances, args }) =>
        // An adapter runs on its base's instances: it has none of its own.
        Array.from({ length: spec.kind === 'adapter' ? 0 : (instances ?? 1) }, async () => {
          const l = await launchInstance({
            model: (spec.model as { path: string }).path,
            kind: spec.kind === 'tensor' ? 'tensor' : 'generative',
            args: ['--intra-op-threads', '1', '--kv-mb', '8', ...(args ?? [])],
          });
          launched.push({ deployment: spec.name, launched: l });
        }),
      ),
    );
  } catch (e) {
    await Promise.all(launched.map((i) => i.launched.stop()));
    throw e;
  }
  const gateway = await startGateway({
    adminToken: ADMIN_TOKEN,
    ...o,
    port: 0,
    pollIntervalMs: o.pollIntervalMs ?? 100,
    deployments: o.deployments.map((d) => d.spec),
    instances: launched.map((i) => ({ deployment: i.deployment, url: i.launched.url })),
  });
  return {
    url: gateway.url,
    gateway,
    instances: launched,
    async close() {
      await gateway.close();
      await Promise.all(launched.map((i) => i.launched.stop()));
    },
  };
}
