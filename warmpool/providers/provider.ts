import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import type { LogLine } from './instance-log.ts';

/** An instance a provider runs: one runtime process (or pod) serving one deployment. */
export interface ProviderInstance {
  readonly id: string;
  readonly deployment: DeploymentSpec;
  /** Base URL of the instance's internal API (/live, /ready, /generate, ...). */
  readonly url: string;
  readonly startedAt: number;
}

/**
 * What a provider can tell about an instance; 'starting' covers loading and warming. 'unresponsive': it
 * runs (its process or pod is there) but did not answer its liveness probe, e.g. hung or frozen.
 */
export type InstanceHealth = 'starting' | 'ready' | 'draining' | 'gone' | 'unresponsive';

/** How an instance ended, kept by the provider so that 'gone' comes with a reason. */
export interface InstanceExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last lines the instance wrote to stderr. */
  readonly stderrTail: string;
}

export interface StartSpec {
  readonly deployment: DeploymentSpec;
  readonly instanceId: string;
}

/**
 * Where warm-pool instances run. start() returns once the instance is launched, not when it is ready:
 * readiness is observed through health().
 */
export interface Provider {
  start(spec: StartSpec): Promise<ProviderInstance>;
  /** Drains the instance, forcing it down after drainTimeoutMs; resolves with how it ended. */
  stop(id: string, o: { drainTimeoutMs: number }): Promise<InstanceExit | undefined>;
  /** The instances this provider runs (for adoption after a restart). */
  list(): Promise<ProviderInstance[]>;
  health(id: string): Promise<InstanceHealth>;
  /** How an instance that is gone ended; undefined while it runs or when it is unknown. */
  exitOf(id: string): InstanceExit | undefined;
  /**
   * Optional: an instance's recent output lines (the last `n`, oldest first); undefined for an instance
   * whose output this provider does not hold. An instance that ended keeps its lines for a while.
   */
  logs?(id: string, n?: number): LogLine[] | undefined;
  /** Optional: get ready for a deployment expected soon (e.g. read its model ahead). Returns at once. */
  prepare?(deployment: DeploymentSpec): void;
  /** Optional: releases what the provider holds beyond its instances (e.g. standby processes). */
  close?(): Promise<void>;
}
