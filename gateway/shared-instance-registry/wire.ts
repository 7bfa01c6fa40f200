import type { InstanceEntry } from './types.ts';

/** What goes over the pub/sub channel. */
export type RegistryMessage = ({ type: 'upsert'; entry: InstanceEntry } | { type: 'remove'; id: string }) & {
  origin: string;
};

const STATES = new Set(['starting', 'ready', 'draining', 'stopped']);

/** An entry read from Redis, or null when it is not one (written by something else, or corrupt). */
export function parseEntry(text: string): InstanceEntry | null {
  try {
    const e = JSON.parse(text) as Partial<InstanceEntry>;
    const ok =
      typeof e.id === 'string' &&
      typeof e.deployment === 'string' &&
      typeof e.url === 'string' &&
      STATES.has(e.state as string) &&
      typeof e.updatedAt === 'number';
    return ok ? (e as InstanceEntry) : null;
  } catch {
    return null;
  }
}

export function parseMessage(text: string): RegistryMessage | null {
  try {
    const m = JSON.parse(text) as { type?: string; id?: unknown; entry?: unknown; origin?: unknown };
    const origin = typeof m.origin === 'string' ? m.origin : '';
    if (m.type === 'remove' && typeof m.id === 'string') return { type: 'remove', id: m.id, origin };
    if (m.type !== 'upsert') return null;
    const entry = parseEntry(JSON.stringify(m.entry));
    return entry === null ? null : { type: 'upsert', entry, origin };
  } catch {
    return null;
  }
}
