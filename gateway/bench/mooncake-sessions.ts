import type { MooncakeRequest } from './mooncake.ts';

/** Blocks a continuation must share with the earlier turn: more than the prefix every prompt shares. */
const MIN_SHARED_BLOCKS = 2;

/**
 * A conversation id for each request (in order), as a client that keeps conversations would send it. The
 * trace has none, so turns are inferred: a request continues the latest earlier request whose prompt,
 * less its last block (cut mid-block, it hashes differently once the conversation grows), begins this
 * one's over at least MIN_SHARED_BLOCKS blocks, the longest such; else it opens a conversation.
 */
export function conversationIds(requests: readonly MooncakeRequest[]): string[] {
  const byPrefix = new Map<string, string>();
  let next = 0;
  return requests.map((r) => {
    let id: string | undefined;
    for (let k = r.hashIds.length; k >= MIN_SHARED_BLOCKS && id === undefined; k--)
      id = byPrefix.get(r.hashIds.slice(0, k).join(','));
    id ??= `conv-${next++}`;
    if (r.hashIds.length - 1 >= MIN_SHARED_BLOCKS) byPrefix.set(r.hashIds.slice(0, -1).join(','), id);
    return id;
  });
}
