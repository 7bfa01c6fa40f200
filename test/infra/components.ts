/**
 * What the infrastructure is checked against: each component's environment schema and its real route
 * table (the Hono apps the processes serve, built here with in-memory parts).
 */
import type { Hono } from 'hono';
import type { EnvironmentSchema } from '../../gateway/config/environment.ts';
import { GATEWAY_ENVIRONMENT } from '../../gateway/config/gateway-environment.ts';
import {
  DeploymentRegistry,
  type DeploymentSpec,
  type DeploymentStore,
} from '../../gateway/deployments/index.ts';
import { createGateway } from '../../gateway/server/index.ts';
import { createTelemetry } from '../../runtime/telemetry/index.ts';
import { CONTROLLER_ENVIRONMENT } from '../../warmpool/config/controller-environment.ts';
import { Controller } from '../../warmpool/controller/index.ts';
import { LocalProvider } from '../../warmpool/providers/index.ts';
import { createControllerApp } from '../../warmpool/service/controller-app.ts';

export interface Component {
  readonly name: 'gateway' | 'controller';
  /** Its kubernetes_deployment_v1 in infra/modules/warmgate. */
  readonly deployment: string;
  readonly schema: EnvironmentSchema;
  readonly app: Hono;
  close(): Promise<void>;
}

/** A deployment store in memory: the gateway's routes do not depend on where deployments live. */
function memoryStore(): DeploymentStore {
  const m = new Map<string, DeploymentSpec>();
  return {
    list: async () => [...m.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    get: async (name) => m.get(name),
    put: async (spec) => void m.set(spec.name, spec),
    delete: async (name) => m.delete(name),
    close: async () => undefined,
  };
}

export async function gatewayComponent(): Promise<Component> {
  const telemetry = createTelemetry({ serviceName: 'infra-test-gateway' });
  const gateway = createGateway({ deployments: await DeploymentRegistry.open(memoryStore()), telemetry });
  return {
    name: 'gateway',
    deployment: 'gateway',
    schema: GATEWAY_ENVIRONMENT,
    app: gateway.app,
    async close() {
      await gateway.close();
      await telemetry.shutdown();
    },
  };
}

export async function controllerComponent(): Promise<Component> {
  const telemetry = createTelemetry({ serviceName: 'infra-test-controller' });
  const controller = new Controller({
    deployments: () => [],
    demand: () => ({ inUse: 0, queued: 0 }),
    provider: new LocalProvider(),
  });
  const app = createControllerApp({
    controller,
    status: () => ({ leading: false, holderId: 'infra-test' }),
    telemetry,
    ready: () => true,
  });
  return {
    name: 'controller',
    deployment: 'controller',
    schema: CONTROLLER_ENVIRONMENT,
    app,
    close: () => telemetry.shutdown(),
  };
}

/** Whether the app has a GET route at exactly this path (middleware, `ALL '/*'`, does not count). */
export function hasGetRoute(app: Hono, path: string): boolean {
  return app.routes.some((r) => r.method === 'GET' && r.path === path);
}

export function getRoutes(app: Hono): string[] {
  return [...new Set(app.routes.filter((r) => r.method === 'GET').map((r) => r.path))].sort();
}
