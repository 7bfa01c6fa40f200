import { Ajv } from 'ajv';

/** One environment variable a process reads: its type, what it does, and its default. */
export interface EnvVar {
  readonly type: 'string' | 'integer' | 'boolean';
  readonly description: string;
  readonly default?: string | number | boolean;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  /** A string holding JSON of this shape (node selectors, tolerations). */
  readonly json?: 'object' | 'array';
  /** Its value must never be logged (credentials, URLs with a password). */
  readonly secret?: boolean;
}

/**
 * The environment one process reads. It is the single list of the variables that configure it: the
 * process reads through it, and the infrastructure (infra/) is checked against it in the tests.
 */
export interface EnvironmentSchema {
  readonly component: string;
  readonly variables: Readonly<Record<string, EnvVar>>;
  readonly required?: readonly string[];
}

type ValueOf<V extends EnvVar> = V['type'] extends 'integer'
  ? number
  : V['type'] extends 'boolean'
    ? boolean
    : string;

export type Environment<S extends EnvironmentSchema> = {
  readonly [K in keyof S['variables']]: ValueOf<S['variables'][K]> | undefined;
};

/** A variable that is wrong; the message names every one and says what it takes. */
export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true, strict: false });

/** The JSON Schema of a component's environment (what ajv checks, and what docs can print). */
function jsonSchemaOf(s: EnvironmentSchema): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(s.variables)) {
    properties[name] = {
      type: v.type,
      description: v.description,
      ...(v.default !== undefined && { default: v.default }),
      ...(v.enum && { enum: v.enum }),
      ...(v.minimum !== undefined && { minimum: v.minimum }),
    };
  }
  return { type: 'object', properties, required: [...(s.required ?? [])] };
}

const compiled = new WeakMap<EnvironmentSchema, ReturnType<typeof ajv.compile>>();

/**
 * Reads and checks a component's variables from `env`: numbers and booleans are converted, defaults
 * filled, JSON-valued ones parsed to check them. An empty value counts as unset. Throws EnvironmentError
 * naming every wrong variable. Variables of warmgate's prefix that the component does not know are
 * returned in `unknown`, so the caller can warn about a typo in a ConfigMap.
 */
export function readEnvironment<S extends EnvironmentSchema>(
  s: S,
  env: Readonly<Record<string, string | undefined>>,
): { values: Environment<S>; unknown: string[] } {
  const picked: Record<string, unknown> = {};
  for (const name of Object.keys(s.variables)) {
    const v = env[name];
    if (v !== undefined && v !== '') picked[name] = v;
  }
  let validate = compiled.get(s);
  if (!validate) compiled.set(s, (validate = ajv.compile(jsonSchemaOf(s))));
  const problems: string[] = [];
  if (!validate(picked)) {
    for (const e of validate.errors ?? []) {
      const name = e.instancePath.slice(1) || String(e.params['missingProperty'] ?? '');
      const allowed =
        e.keyword === 'enum' ? `: one of ${(e.params['allowedValues'] as string[]).join(', ')}` : '';
      problems.push(
        e.keyword === 'required' ? `${name} is required` : `${name} ${e.message ?? 'is not valid'}${allowed}`,
      );
    }
  }
  for (const [name, v] of Object.entries(s.variables)) {
    if (!v.json || typeof picked[name] !== 'string') continue;
    try {
      const parsed: unknown = JSON.parse(picked[name]);
      const ok = v.json === 'array' ? Array.isArray(parsed) : isObject(parsed);
      if (!ok) problems.push(`${name} must be a JSON ${v.json}`);
    } catch {
      problems.push(`${name} must be a JSON ${v.json}, and it does not parse`);
    }
  }
  if (problems.length > 0) throw new EnvironmentError(`${s.component}: ${problems.join('; ')}`);
  const unknown = Object.keys(env).filter((k) => k.startsWith('WARMGATE_') && !(k in s.variables));
  return { values: picked as Environment<S>, unknown };
}

const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
