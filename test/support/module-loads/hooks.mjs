// Module resolution hook (runs on Node's loader thread): records each resolved URL; changes nothing.
import { appendFileSync } from 'node:fs';
import process from 'node:process';

const log = process.env.LOADED_MODULES_LOG;

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (log) appendFileSync(log, `${resolved.url}\n`);
  return resolved;
}
