import { AsyncLocalStorage } from 'node:async_hooks';
import type { DeploymentRegistry } from '../deployments/index.ts';
import { ApiError } from '../errors/index.ts';
import type { KeyRecord } from './key-record.ts';
import type { Limiter } from './limiter.ts';

/** One request's key while it runs: its lease, and the tokens its responses used. */
export class RequestKey {
  readonly record: KeyRecord;
  readonly #limiter: Limiter;
  #lease: string | null;
  #tokens = 0;
  #finished = false;
  /** The first model gate the request enters is the model it is for: checked once, then not again. */
  modelChecked = false;

  constructor(record: KeyRecord, lease: string | null, limiter: Limiter) {
    this.record = record;
    this.#lease = lease;
    this.#limiter = limiter;
  }

  /** Tokens used; those counted after the request finished (a stream cut short) go on their own. */
  used(tokens: number): void {
    if (tokens <= 0) return;
    if (this.#finished) this.#limiter.finish(this.record.id, null, tokens);
    else this.#tokens += tokens;
  }

  /** Gives the lease back and counts the tokens. Once; later calls do nothing. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#limiter.finish(this.record.id, this.#lease, this.#tokens);
    this.#lease = null;
  }
}

/**
 * The key of the request being served, carried through its async work: the generation session records
 * usage into history deep below the route, and this is how that usage finds its key.
 */
export const currentKey = new AsyncLocalStorage<RequestKey>();

/** 403 model_forbidden unless the deployment lets this key call it (an unknown one is the route's 404). */
export function checkModelAllowed(deployments: DeploymentRegistry, model: string, keyId: string): void {
  const allowed = deployments.get(model)?.allowedKeys;
  if (allowed === undefined || allowed.includes(keyId)) return;
  throw new ApiError(
    'model_forbidden',
    `API key ${keyId} may not call '${model}': the deployment's allowedKeys does not list it`,
    { param: 'model' },
  );
}
