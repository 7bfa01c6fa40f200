export type PublishedState = 'starting' | 'ready' | 'draining' | 'stopped';

/** One runtime instance as the controller announces it. `updatedAt` is the publisher's clock (ms). */
export interface InstanceEntry {
  readonly id: string;
  readonly deployment: string;
  readonly url: string;
  readonly state: PublishedState;
  readonly updatedAt: number;
}

/**
 * A change in the shared view. A `remove` with reason 'expired' means the entry was not re-published
 * within the TTL (its controller may be gone); the instance itself may still be serving.
 */
export type RegistryEvent =
  | { readonly type: 'upsert'; readonly entry: InstanceEntry }
  | { readonly type: 'remove'; readonly entry: InstanceEntry; readonly reason: 'removed' | 'expired' };

export type RegistryListener = (ev: RegistryEvent) => void;

/** The instances of every deployment, shared between the warm-pool controller and the gateways. */
export interface SharedInstanceRegistry {
  /** Creates or replaces the entry with this id; rejects when the backing store cannot be written. */
  publish(entry: InstanceEntry): Promise<void>;
  /** Removes the entry; rejects when the backing store cannot be written. */
  remove(id: string): Promise<void>;
  /** The live entries as last seen (the last known view when the backing store is unreachable). */
  list(deployment?: string): InstanceEntry[];
  /** Calls the listener for each change from now on; returns the unsubscribe function. */
  subscribe(listener: RegistryListener): () => void;
  /** Brings the local view up to date now (the periodic resync, on demand); never rejects. */
  sync(): Promise<void>;
  close(): Promise<void>;
}
