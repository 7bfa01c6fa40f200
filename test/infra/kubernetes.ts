/**
 * Reading the Kubernetes resources of a parsed module: a deployment's container, where each of its
 * environment variables comes from, and which port a probe or annotation names.
 */
import {
  block,
  blocks,
  evaluate,
  type Hcl,
  references,
  resource,
  resourceRef,
  type TerraformModule,
  UNRESOLVED,
} from './terraform.ts';

export type EnvSource =
  | { kind: 'literal'; value: unknown }
  | { kind: 'configMap'; configMap: string; value: unknown }
  | { kind: 'secretKey'; secret: string; key: string }
  | { kind: 'field'; fieldPath: string }
  | { kind: 'configMapKey' };

export interface EnvEntry {
  readonly name: string;
  readonly source: EnvSource;
}

export function podTemplate(m: TerraformModule, deployment: string): Hcl {
  return block(block(resource(m, 'kubernetes_deployment_v1', deployment), 'spec'), 'template');
}

export function podSpec(m: TerraformModule, deployment: string): Hcl {
  return block(podTemplate(m, deployment), 'spec');
}

export function container(m: TerraformModule, deployment: string): Hcl {
  return block(podSpec(m, deployment), 'container');
}

/** The resource a "${type.name.metadata[0].name}" expression names, checked to be of `type`. */
function referenced(m: TerraformModule, expr: unknown, type: string): [string, Hcl] {
  const ref = resourceRef(expr);
  if (!ref || ref[0] !== type) throw new Error(`expected a reference to a ${type}, got ${String(expr)}`);
  return [ref[1], resource(m, type, ref[1])];
}

/**
 * The keys of a ConfigMap's or Secret's data with their (unevaluated) values. Data must be a literal map
 * or built from literal maps in locals (merge(local.a, var.extra), a for over them): the keys of
 * variables (var.*) are the user's and are not listed.
 */
export function dataKeys(m: TerraformModule, r: Hcl): Map<string, unknown> {
  const data = r['data'];
  const out = new Map<string, unknown>();
  if (data && typeof data === 'object') {
    for (const [k, v] of Object.entries(data)) out.set(k, v);
    return out;
  }
  for (const name of references(data).locals) {
    const local = m.locals[name];
    if (!local || typeof local !== 'object') throw new Error(`data uses local.${name}, not a literal map`);
    for (const [k, v] of Object.entries(local)) out.set(k, v);
  }
  return out;
}

/** Every variable the container's environment gets, and where from. */
export function containerEnv(m: TerraformModule, c: Hcl): EnvEntry[] {
  const out: EnvEntry[] = [];
  for (const from of blocks(c, 'env_from')) {
    for (const ref of blocks(from, 'config_map_ref')) {
      const [name, cm] = referenced(m, ref['name'], 'kubernetes_config_map_v1');
      for (const [k, v] of dataKeys(m, cm))
        out.push({ name: k, source: { kind: 'configMap', configMap: name, value: v } });
    }
    for (const ref of blocks(from, 'secret_ref')) {
      const [name, s] = referenced(m, ref['name'], 'kubernetes_secret_v1');
      for (const k of dataKeys(m, s).keys())
        out.push({ name: k, source: { kind: 'secretKey', secret: name, key: k } });
    }
  }
  for (const e of blocks(c, 'env')) {
    const name = String(e['name']);
    const from = blocks(e, 'value_from')[0];
    if (!from) {
      out.push({ name, source: { kind: 'literal', value: e['value'] } });
    } else if (blocks(from, 'secret_key_ref').length > 0) {
      const ref = block(from, 'secret_key_ref');
      const [secret] = referenced(m, ref['name'], 'kubernetes_secret_v1');
      out.push({ name, source: { kind: 'secretKey', secret, key: String(ref['key']) } });
    } else if (blocks(from, 'field_ref').length > 0) {
      out.push({
        name,
        source: { kind: 'field', fieldPath: String(block(from, 'field_ref')['field_path']) },
      });
    } else {
      out.push({ name, source: { kind: 'configMapKey' } });
    }
  }
  return out;
}

/** The evaluated value of a variable set from a literal or a ConfigMap; UNRESOLVED otherwise. */
export function envValue(m: TerraformModule, env: EnvEntry[], name: string): unknown {
  const e = env.find((x) => x.name === name);
  if (!e) return undefined;
  if (e.source.kind === 'literal' || e.source.kind === 'configMap') return evaluate(m, e.source.value);
  return UNRESOLVED;
}

/** The number a container port reference means: a number, or the name of one of its ports. */
export function portNumber(m: TerraformModule, c: Hcl, port: unknown): number | undefined {
  const v = evaluate(m, port);
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  const named = blocks(c, 'port').find((p) => p['name'] === v);
  if (!named) return undefined;
  const n = evaluate(m, named['container_port']);
  return typeof n === 'number' ? n : Number(n);
}
