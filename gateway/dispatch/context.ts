import type { ModelGate } from '../admission/index.ts';
import type { DeploymentRegistry } from '../deployments/index.ts';
import type { SequencePinStore } from '../routing/index.ts';
import type { GenerationDeps } from './generation.ts';

/** What every route group needs: deployments, instances, routing, admission, history, telemetry. */
export interface GatewayContext extends GenerationDeps {
  readonly deployments: DeploymentRegistry;
  /**
   * The admission gate (concurrency cap and queue) of the pool that serves the model: `pool` when the
   * route chose one (a version's), else the model's own (an adapter's: its base's).
   */
  gate(model: string, pool?: string): ModelGate;
  /** Which instance holds each open sequence of a stateful tensor model. */
  readonly sequences: SequencePinStore;
  /** Unix seconds when the deployment was first seen, for /v1/models. */
  createdAt(model: string): number;
}
