import { Growable } from './growable.ts';
import type { DeploymentTrace } from './types.ts';

/** What a trace states about one deployment's platform, overriding the run's flags. */
export interface OwnSettings {
  readonly coldStartMs?: number;
  readonly slots?: number;
}

/**
 * One deployment's requests as a reader collects them, in file order: two number columns, no object
 * per row. Sorted by time (stably) only when built, and only if they came out of order.
 */
export class RequestColumns {
  readonly #at = new Growable();
  readonly #service = new Growable();
  #sorted = true;
  #first = Infinity;
  #last = -Infinity;

  get length(): number {
    return this.#at.length;
  }

  /** The earliest and latest arrival so far. */
  get first(): number {
    return this.#first;
  }
  get last(): number {
    return this.#last;
  }

  push(at: number, serviceMs: number): void {
    if (at < this.#last) this.#sorted = false;
    this.#at.push(at);
    this.#service.push(serviceMs);
    this.#first = Math.min(this.#first, at);
    this.#last = Math.max(this.#last, at);
  }

  /**
   * The deployment, its arrivals sorted and turned into ms: `(at - origin) / unitsPerMs` (one rounding,
   * so arrivals pushed as exact integers of a finer unit come out as the doubles nearest the true ms).
   */
  toDeployment(name: string, own: OwnSettings = {}, origin = 0, unitsPerMs = 1): DeploymentTrace {
    let at = this.#at.view();
    let service = this.#service.view();
    if (!this.#sorted) {
      // Stable by time, so requests with the same timestamp keep their order in the file.
      const order = Array.from(at.keys()).sort((a, b) => at[a]! - at[b]! || a - b);
      at = Float64Array.from(order, (i) => at[i]!);
      service = Float64Array.from(order, (i) => service[i]!);
    }
    if (origin !== 0 || unitsPerMs !== 1) at = at.map((t) => (t - origin) / unitsPerMs);
    let sum = 0;
    for (const s of service) sum += s;
    return {
      name,
      requests: at.length,
      meanServiceMs: sum / at.length,
      ...own,
      requestsFor: () => ({ at, serviceMs: service }),
    };
  }
}
