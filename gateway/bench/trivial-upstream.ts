import { firstMessage, forkSibling, stopChild } from './child.ts';

export interface TrivialUpstream {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts the trivial upstream (trivial-upstream-child.ts) in a child process: GET /ready, /live, /load,
 * /metadata and POST /generate answering one token, as a runtime instance would.
 */
export async function startTrivialUpstream(): Promise<TrivialUpstream> {
  const child = forkSibling('trivial-upstream-child');
  try {
    const { port } = await firstMessage<{ port: number }>(child, 'trivial upstream');
    return { url: `http://127.0.0.1:${port}`, stop: () => stopChild(child) };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}
