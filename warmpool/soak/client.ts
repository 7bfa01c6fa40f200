import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { firstMessage, stopChild } from '../../gateway/bench/child.ts';
import { fromSource } from '../../gateway/bench/paths.ts';
import type { SoakRequest } from './conversations.ts';
import type { Outcome } from './outcome.ts';

export interface ClientJob {
  /** The gateway's origin. */
  readonly url: string;
  readonly requests: readonly { readonly atMs: number; readonly body: string }[];
}

export interface ClientResult {
  readonly outcomes: readonly Outcome[];
  readonly wallMs: number;
  readonly maxSendLagMs: number;
}

/** The streaming chat completion a request sends: greedy, usage in the last chunk. */
export function requestBody(model: string, r: SoakRequest): string {
  return JSON.stringify({
    model,
    messages: r.messages,
    max_tokens: r.maxTokens,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  });
}

/**
 * Replays requests against the gateway from a child process (client-child.ts), so the client's sockets,
 * buffers and timers stay out of the gateway process's RSS and handle counts. `signal` kills the child.
 */
export async function runClient(job: ClientJob, signal?: AbortSignal): Promise<ClientResult> {
  const file = fileURLToPath(new URL(`./client-child.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const child = fork(file, [], {
    execArgv: fromSource ? ['--import', 'tsx'] : [],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const kill = () => void stopChild(child, 'SIGKILL');
  signal?.addEventListener('abort', kill, { once: true });
  try {
    const reply = firstMessage<ClientResult>(child, 'soak client');
    child.send(job);
    return await reply;
  } finally {
    signal?.removeEventListener('abort', kill);
    await stopChild(child);
  }
}
