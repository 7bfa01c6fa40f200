import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

let installed = false;

/**
 * The one global piece: a context manager, so that `context.with` and `startActiveSpan` carry the
 * active span across awaits. Tracer and meter providers stay per Telemetry, so several coexist.
 */
export function ensureContextManager(): void {
  if (installed) return;
  installed = true;
  // False when another part of the process registered one first; that one propagates just as well.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}
