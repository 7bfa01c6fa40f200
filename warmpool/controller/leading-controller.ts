import type { Controller } from './controller.ts';
import type { Tickable } from './loop.ts';

/**
 * The controller as the loop ticks it on one replica of several: it acts only while `leading()` says
 * so. The first tick of a term adopts what the provider runs before deciding anything; a tick after
 * the term ended lets go of the pools (instances untouched: the next leader adopts them). Adopting and
 * forgetting happen inside ticks, so they never interleave with a reconcile.
 */
export class LeadingController implements Tickable {
  readonly #controller: Controller;
  readonly #leading: () => boolean;
  #term = 0;
  #adoptedTerm = -1;
  #holding = false;

  constructor(controller: Controller, leading: () => boolean) {
    this.#controller = controller;
    this.#leading = leading;
  }

  /** A term began (the elector's onElected): the next tick adopts before it decides. */
  elected(): void {
    this.#term++;
  }

  async tick(now: number): Promise<void> {
    if (!this.#leading()) {
      if (this.#holding) this.#controller.forget();
      this.#holding = false;
      return;
    }
    if (this.#adoptedTerm !== this.#term) {
      await this.#controller.adopt(now);
      this.#adoptedTerm = this.#term;
    }
    this.#holding = true;
    await this.#controller.tick(now);
  }
}
