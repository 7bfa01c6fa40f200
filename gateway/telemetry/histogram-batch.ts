import type { Attributes, Histogram } from '@opentelemetry/api';

/**
 * One series (one set of attributes) of an OpenTelemetry histogram, recorded in batches: values wait in
 * a fixed buffer and go to the SDK together, when it fills and before every collection. Measured in the
 * gateway, recording each request's values as they come cost about a tenth of its CPU per request (the
 * SDK hashes the attributes on every call, and its code is cold between requests); in a tight loop the
 * same records cost a fraction of that. The buffer bounds both memory and how long a value waits.
 */
export class HistogramBatch {
  readonly #histogram: Histogram;
  readonly #attributes: Attributes;
  readonly #values: Float64Array;
  #size = 0;

  constructor(histogram: Histogram, attributes: Attributes, capacity = 256) {
    this.#histogram = histogram;
    this.#attributes = attributes;
    this.#values = new Float64Array(capacity);
  }

  record(value: number): void {
    this.#values[this.#size++] = value;
    if (this.#size === this.#values.length) this.flush();
  }

  /** Hands every waiting value to the SDK. */
  flush(): void {
    const n = this.#size;
    this.#size = 0;
    for (let i = 0; i < n; i++) this.#histogram.record(this.#values[i]!, this.#attributes);
  }
}
