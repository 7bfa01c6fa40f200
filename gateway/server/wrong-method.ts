import type { Hono } from 'hono';

/**
 * The methods the app's routes take at a path, as an Allow header value; null when no route has the
 * path. The not-found handler asks it, so that a known path asked with another method answers 405
 * method_not_allowed rather than 404, at no cost to requests that match a route. The table is built on
 * first use, once every route is registered.
 */
export function allowedMethods(app: Hono): (path: string) => string | null {
  let table: { pattern: RegExp; methods: Set<string> }[] | null = null;
  const build = () => {
    const byPath = new Map<string, Set<string>>();
    for (const r of app.routes) {
      if (r.method === 'ALL') continue; // middleware, and routes that answer every method
      byPath.set(r.path, (byPath.get(r.path) ?? new Set()).add(r.method));
    }
    return [...byPath].map(([path, methods]) => ({ pattern: pathPattern(path), methods }));
  };
  return (path) => {
    table ??= build();
    const methods = new Set(table.filter((t) => t.pattern.test(path)).flatMap((t) => [...t.methods]));
    return methods.size ? [...methods].join(', ') : null;
  };
}

/** A route path ('/v2/models/:m/infer') as a regular expression; a `:name` matches one segment. */
function pathPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}
