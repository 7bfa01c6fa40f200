import type { InstanceTable, UpstreamInstance } from '../instances/index.ts';
import type { Prompt } from '../model-text/index.ts';
import {
  chooseInstance,
  chooseInstanceForAdapter,
  type RouteDecision,
  type RoutingOptions,
} from './choose-instance.ts';
import { chooseInstanceForSession } from './choose-session.ts';
import type { SessionShare } from './session-share.ts';
import { prefixBlockHashes } from './prefix-hash.ts';
import { SequencePins } from './sequence-pins.ts';
import { PrefixIndex } from './prefix-index.ts';

export interface RouterOptions extends RoutingOptions {
  /** Tokens per prefix block: the engine's KV block (16 tokens; a byte-level model's tokens are bytes). */
  readonly blockTokens: number;
  /** Only the first blocks matter for affinity; long prompts are not hashed to the end. */
  readonly maxBlocks: number;
}

export interface Route {
  readonly instance: UpstreamInstance;
  readonly decision: RouteDecision;
}

// Shared empties for the common case (nothing excluded, a prompt shorter than a block): read only.
const NONE: ReadonlySet<string> = new Set();
const NO_MATCHES: ReadonlyMap<string, number> = new Map();

// How much the prefix index remembers, in prefix-block hashes (~100 bytes each). Measured on the Mooncake
// replay of bench:gateway (four instances, 2,048 KV blocks between them): an index of 4,096 hashes, twice
// their blocks, forgot conversations whose early blocks the instances still held and served (prefix hit
// rate 0.060 against 0.087-0.095 with nothing forgotten); 32,768 forgets nothing over that run.
const INDEX_HASHES_PER_KV_BLOCK = 8;
const MIN_INDEX_BLOCKS = 32_768;
const MAX_INDEX_BLOCKS = 200_000;
/** Conversations whose last instance is remembered (~150 bytes each); the least recently active go first. */
const MAX_SESSIONS = 100_000;

/** Where a request is routed: a ready instance of its deployment, by prefix affinity and load. */
export class Router {
  readonly #registry: InstanceTable;
  readonly #options: RouterOptions;
  readonly #index = new PrefixIndex(MIN_INDEX_BLOCKS);
  /** Each conversation's last instance; no expiry (a stale pin only loses to load), bounded by LRU. */
  readonly #sessions = new SequencePins(MAX_SESSIONS);
  /** The other replicas' pins, where the gateways share a Redis. */
  readonly #share: SessionShare | null;
  #turn = 0;

  constructor(registry: InstanceTable, options: RouterOptions, share: SessionShare | null = null) {
    this.#registry = registry;
    this.#options = options;
    this.#share = share;
    registry.on('removed', (inst) => this.#index.forget(inst.id));
  }

  /**
   * The index follows the fleet's KV blocks (from the instances' load reports), within fixed bounds: it
   * must outlast what the instances keep, and not grow with traffic.
   */
  #resizeIndex(): void {
    let blocks = 0;
    for (const i of this.#registry.all()) blocks += i.load.kvTotalBlocks ?? 0;
    this.#index.capacity = Math.min(
      MAX_INDEX_BLOCKS,
      Math.max(MIN_INDEX_BLOCKS, INDEX_HASHES_PER_KV_BLOCK * blocks),
    );
  }

  /**
   * Before routing a conversation's turn that this replica has not routed before: the instance another
   * replica last sent it to, if the replicas share one (routing then keeps it there as its own pin).
   */
  async learnSession(deployment: string, session: string, adapter?: string): Promise<void> {
    if (this.#share === null) return;
    const key = `${adapter ?? ''}\u0000${session}`;
    if (this.#sessions.where(deployment, key, 0).kind === 'pinned') return;
    const instanceId = await this.#share.lookup(deployment, key);
    if (instanceId !== null && this.#sessions.where(deployment, key, 0).kind !== 'pinned')
      this.#sessions.pin(deployment, key, instanceId, Infinity, 0);
  }

  /**
   * Null when no instance is ready (the caller queues). `exclude`: instances that already failed it.
   * `adapter`: the adapter it runs under, preferring instances that hold it. `session`: the conversation
   * it continues, kept on the instance that served its previous turn (choose-session.ts).
   */
  route(
    deployment: string,
    prompt: Prompt | null,
    exclude: ReadonlySet<string> = NONE,
    adapter?: string,
    session?: string,
  ): Route | null {
    const routable = this.#registry.routable(deployment);
    // Nothing excluded (a first attempt): routable() is already a fresh array.
    const ready = exclude.size === 0 ? routable : routable.filter((i) => !exclude.has(i.id));
    const hashes =
      prompt === null
        ? []
        : prefixBlockHashes(
            typeof prompt === 'string' ? prompt : prompt.ids,
            this.#options.blockTokens,
            this.#options.maxBlocks,
            adapter,
          );
    const candidates = ready.map((i) => ({
      id: i.id,
      outstanding: i.outstanding,
      waiting: i.load.waiting ?? 0,
      kvUsagePct: i.load.kvUsagePct ?? 0,
    }));
    const matches = hashes.length ? this.#index.match(hashes) : NO_MATCHES;
    const turn = this.#turn++;
    const usual = () =>
      adapter === undefined
        ? chooseInstance(candidates, matches, this.#options, turn)
        : chooseInstanceForAdapter(
            candidates,
            new Set(ready.filter((i) => i.holdsAdapter(adapter)).map((i) => i.id)),
            matches,
            this.#options,
            turn,
          );
    const sessionKey = session === undefined ? undefined : `${adapter ?? ''}\u0000${session}`;
    const pinned = sessionKey === undefined ? null : this.#sessions.where(deployment, sessionKey, 0);
    const decision =
      sessionKey === undefined
        ? usual()
        : chooseInstanceForSession(
            candidates,
            pinned?.kind === 'pinned' ? pinned.instanceId : null,
            matches,
            this.#options,
            usual,
          );
    if (!decision) return null;
    if (sessionKey !== undefined) {
      this.#sessions.pin(deployment, sessionKey, decision.id, Infinity, 0);
      const held = pinned?.kind === 'pinned' ? pinned.instanceId : null;
      if (decision.id !== held) this.#share?.record(deployment, sessionKey, decision.id);
    }
    if (hashes.length) {
      if ((this.#turn & 255) === 0) this.#resizeIndex(); // instances come and go; their caches do not change
      this.#index.record(hashes, decision.id);
    }
    return { instance: ready.find((i) => i.id === decision.id)!, decision };
  }
}
