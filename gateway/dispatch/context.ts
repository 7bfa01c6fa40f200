import type { ModelGate } from '../admission/index.ts';
import type { DeploymentRegistry } from '../deployments/index.ts';
import type { GenerationDeps } from './generation.ts';

/** What every route group needs: deployments, instances, routing, admission, history, telemetry. */
export interface GatewayContext extends GenerationDeps {
  readonly deployments: DeploymentRegistry;
  /** The model's admission gate (concurrency cap and queue). */
  gate(model: string): ModelGate;
  /** Unix seconds when the deployment was first seen, for /v1/models. */
  createdAt(model: string): number;
}
