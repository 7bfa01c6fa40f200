import type { Command } from 'commander';
import { AdminClient } from './admin-client.ts';

/** The admin API a command talks to: the root's --url and --token (or WARMGATE_URL, WARMGATE_ADMIN_TOKEN). */
export function adminOf(cmd: Command): AdminClient {
  const o = cmd.optsWithGlobals<{ url: string; token?: string }>();
  return new AdminClient({ url: o.url, token: o.token });
}

/** --json: the admin API's answer as it came, for scripts (jq and the like). */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export const JSON_HELP = "print the admin API's JSON answer as it is, for scripts";

/** How often --follow asks again. */
export const FOLLOW_INTERVAL_MS = 1000;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
