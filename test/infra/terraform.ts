/**
 * Reading Terraform modules for tests: every .tf file of a folder parsed with @cdktf/hcl2json and merged,
 * plus a small evaluator for the expressions the checks need (var.x by its default, local.x, tostring,
 * jsonencode, string templates). Anything else stays unresolved, and a check that needs it fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

// Loaded without its type declarations: they pull in the DOM library, which changes Node's types for the
// whole project (Buffer, ReadableStream). This is its one function, as this file uses it.
const { parse } = createRequire(import.meta.url)('@cdktf/hcl2json') as {
  parse(fileName: string, text: string): Promise<Record<string, unknown>>;
};

// hcl2json's output: blocks are arrays of objects, expressions are "${...}" strings.
export type Hcl = Record<string, unknown>;

export interface TerraformModule {
  readonly dir: string;
  /** Values of variables without a default (what a root module would pass). */
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly files: readonly string[];
  readonly variables: Readonly<Record<string, Hcl>>;
  readonly locals: Readonly<Record<string, unknown>>;
  readonly outputs: Readonly<Record<string, Hcl>>;
  readonly modules: Readonly<Record<string, Hcl>>;
  /** resources[type][name] */
  readonly resources: Readonly<Record<string, Readonly<Record<string, Hcl>>>>;
}

/** Parses a file; hcl2json stops at the first syntax error, which fails the caller. */
export async function parseHcl(file: string): Promise<Hcl> {
  return (await parse(file, readFileSync(file, 'utf8'))) as Hcl;
}

export async function loadModule(
  dir: string,
  inputs: Record<string, unknown> = {},
): Promise<TerraformModule> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort();
  const variables: Record<string, Hcl> = {};
  const locals: Record<string, unknown> = {};
  const outputs: Record<string, Hcl> = {};
  const modules: Record<string, Hcl> = {};
  const resources: Record<string, Record<string, Hcl>> = {};
  for (const f of files) {
    const j = await parseHcl(join(dir, f));
    for (const [name, [body]] of entries<Hcl[]>(j['variable'])) variables[name] = body!;
    for (const block of (j['locals'] as Hcl[] | undefined) ?? []) Object.assign(locals, block);
    for (const [name, [body]] of entries<Hcl[]>(j['output'])) outputs[name] = body!;
    for (const [name, [body]] of entries<Hcl[]>(j['module'])) modules[name] = body!;
    for (const [type, byName] of entries<Record<string, Hcl[]>>(j['resource'])) {
      for (const [name, [body]] of Object.entries(byName)) (resources[type] ??= {})[name] = body!;
    }
  }
  return { dir, inputs, files, variables, locals, outputs, modules, resources };
}

function entries<T>(v: unknown): [string, T][] {
  return Object.entries((v ?? {}) as Record<string, T>);
}

/** The one block of a nested block list (`spec[0]`), failing loudly when it is missing. */
export function block(parent: unknown, name: string): Hcl {
  const list = (parent as Hcl | undefined)?.[name];
  if (!Array.isArray(list) || list.length === 0) throw new Error(`no ${name} block`);
  return list[0] as Hcl;
}

/** Every block of that name (none: []). */
export function blocks(parent: unknown, name: string): Hcl[] {
  const list = (parent as Hcl | undefined)?.[name];
  return Array.isArray(list) ? (list as Hcl[]) : [];
}

export function resource(m: TerraformModule, type: string, name: string): Hcl {
  const r = m.resources[type]?.[name];
  if (!r) throw new Error(`${m.dir}: no resource ${type}.${name}`);
  return r;
}

/** A "${type.name...}" reference to a resource of the module, as [type, name]. */
export function resourceRef(expr: unknown): [string, string] | undefined {
  const m = typeof expr === 'string' ? /^\$\{([a-z0-9_]+)\.([a-z0-9_]+)\b/.exec(expr) : null;
  return m && m[1] !== 'var' && m[1] !== 'local' ? [m[1]!, m[2]!] : undefined;
}

export const UNRESOLVED = Symbol('unresolved');
export type Value = unknown;

/**
 * The value of an expression with every variable at its default (or at `vars`). Returns UNRESOLVED for
 * what it cannot evaluate (resource attributes, other functions).
 */
export function evaluate(m: TerraformModule, v: unknown, vars: Record<string, unknown> = {}): Value {
  if (typeof v !== 'string') return v;
  const whole = /^\$\{([^]*)\}$/.exec(v);
  if (whole && !hasTemplate(whole[1]!)) return expression(m, whole[1]!.trim(), vars);
  if (!v.includes('${')) return v;
  let unresolved = false;
  const out = v.replace(/\$\{([^}]*)\}/g, (_, e: string) => {
    const r = expression(m, e.trim(), vars);
    if (r === UNRESOLVED || r === null || typeof r === 'object') unresolved = true;
    return String(r);
  });
  return unresolved ? UNRESOLVED : out;
}

const hasTemplate = (e: string) => e.includes('${');

function expression(m: TerraformModule, e: string, vars: Record<string, unknown>): Value {
  let r: RegExpExecArray | null;
  if ((r = /^var\.([a-z0-9_]+)$/.exec(e))) {
    const name = r[1]!;
    if (name in vars) return vars[name];
    if (name in m.inputs) return m.inputs[name];
    const decl = m.variables[name];
    if (!decl) return UNRESOLVED;
    return 'default' in decl ? decl['default'] : UNRESOLVED;
  }
  if ((r = /^local\.([a-z0-9_]+)$/.exec(e))) {
    return r[1]! in m.locals ? deep(m, m.locals[r[1]!], vars) : UNRESOLVED;
  }
  // A resource's own name: type.name[0].metadata[0].name or type.name.metadata[0].name.
  if ((r = /^([a-z0-9_]+)\.([a-z0-9_]+)(?:\[0\])?\.metadata\[0\]\.name$/.exec(e))) {
    const res = m.resources[r[1]!]?.[r[2]!];
    const meta = (res?.['metadata'] as Hcl[] | undefined)?.[0];
    return meta ? evaluate(m, meta['name'], vars) : UNRESOLVED;
  }
  if ((r = /^(.+?)\s*(==|!=)\s*null$/.exec(e))) {
    const v = expression(m, r[1]!.trim(), vars);
    return v === UNRESOLVED ? v : (v === null) === (r[2] === '==');
  }
  if ((r = /^([^?:]+)\?([^?:]+):([^?:]+)$/.exec(e))) {
    const cond = expression(m, r[1]!.trim(), vars);
    if (typeof cond !== 'boolean') return UNRESOLVED;
    return expression(m, (cond ? r[2]! : r[3]!).trim(), vars);
  }
  // A for over an empty collection is empty whatever its body.
  if ((r = /^\[\s*for\s+\w+(?:\s*,\s*\w+)?\s+in\s+([a-z0-9_.]+)\s*:/.exec(e))) {
    const over = expression(m, r[1]!, vars);
    return Array.isArray(over) && over.length === 0 ? [] : UNRESOLVED;
  }
  if ((r = /^coalesce\(([^,()]+),([^,()]+)\)$/.exec(e))) {
    const first = expression(m, r[1]!.trim(), vars);
    return first === null || first === '' ? expression(m, r[2]!.trim(), vars) : first;
  }
  if ((r = /^tostring\((.*)\)$/.exec(e))) {
    const inner = expression(m, r[1]!.trim(), vars);
    return inner === UNRESOLVED || inner === null ? inner : String(inner);
  }
  if ((r = /^jsonencode\((.*)\)$/.exec(e))) {
    const inner = expression(m, r[1]!.trim(), vars);
    return inner === UNRESOLVED ? inner : JSON.stringify(inner);
  }
  return UNRESOLVED;
}

/** evaluate(), into the members of literal maps and lists. */
function deep(m: TerraformModule, v: unknown, vars: Record<string, unknown>): Value {
  if (Array.isArray(v)) return v.map((x) => deep(m, x, vars));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(m, x, vars)]));
  }
  return evaluate(m, v, vars);
}

/** The `local.x` and `var.x` names an expression mentions. */
export function references(expr: unknown): { locals: string[]; vars: string[] } {
  const s = typeof expr === 'string' ? expr : JSON.stringify(expr ?? null);
  const find = (kind: string) =>
    [...s.matchAll(new RegExp(`\\b${kind}\\.([a-z0-9_]+)`, 'g'))].map((x) => x[1]!);
  return { locals: [...new Set(find('local'))], vars: [...new Set(find('var'))] };
}

/** The values of `contains([...], var.name)` in a variable's validation conditions. */
export function allowedValues(m: TerraformModule, name: string): string[] | undefined {
  for (const v of blocks(m.variables[name], 'validation')) {
    const cond = String(v['condition'] ?? '');
    const r = new RegExp(`contains\\(\\[([^\\]]*)\\],\\s*var\\.${name}\\)`).exec(cond);
    if (r) return [...r[1]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]!);
  }
  return undefined;
}
