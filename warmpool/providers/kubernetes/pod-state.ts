import { constants } from 'node:os';
import type { V1Pod } from '@kubernetes/client-node';
import type { InstanceExit, InstanceHealth } from '../provider.ts';

/**
 * What a pod's status says about its instance. A pod being deleted is draining (the runtime got SIGTERM);
 * one that finished is gone; it is ready once it is Running, Ready and has an IP to be reached at.
 */
export function podHealth(pod: V1Pod): InstanceHealth {
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return 'gone';
  if (pod.metadata?.deletionTimestamp) return 'draining';
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  return phase === 'Running' && ready && pod.status?.podIP ? 'ready' : 'starting';
}

/** The instance's base URL, once the pod has an IP. */
export function podUrl(pod: V1Pod, port: number): string | undefined {
  const ip = pod.status?.podIP;
  if (!ip) return undefined;
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

const SIGNALS = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** How the runtime container ended, from its terminated state; undefined while it has not. */
export function podExit(pod: V1Pod, container = 'runtime'): InstanceExit | undefined {
  const statuses = pod.status?.containerStatuses ?? [];
  const t = statuses.find((s) => s.name === container)?.state?.terminated;
  if (!t) return undefined;
  const tail = [t.reason && `reason: ${t.reason}`, t.message?.trimEnd()].filter(Boolean).join('\n');
  return {
    code: t.exitCode,
    signal: (t.signal !== undefined && SIGNALS.get(t.signal)) || null,
    stderrTail: tail,
  };
}
