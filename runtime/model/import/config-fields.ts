import type { Architecture } from '../architecture.ts';
import { ImportError, shown } from './import-error.ts';

/** What a family's reader makes of config.json. */
export interface FamilyReading {
  architecture: Architecture;
  notes: string[];
  /** Fields of this family that do not change the math (dropouts, training-only settings). */
  harmless: readonly string[];
}

export type FamilyReader = (fields: ConfigFields, modelType: string) => FamilyReading;

/**
 * config.json's fields, read with their types checked. Every field read is remembered, so that what is
 * left at the end (neither read nor declared harmless) can be refused: a field the importer does not
 * know may change the model's math.
 */
export class ConfigFields {
  readonly #file: string;
  readonly #json: Readonly<Record<string, unknown>>;
  readonly #read = new Set<string>();

  constructor(file: string, json: Readonly<Record<string, unknown>>) {
    this.#file = file;
    this.#json = json;
  }

  get file(): string {
    return this.#file;
  }

  /** Whether config.json has the field at all (null included): some defaults differ from null. */
  has(name: string): boolean {
    return Object.hasOwn(this.#json, name);
  }

  /** The field's value, null treated as absent. */
  raw(name: string): unknown {
    this.#read.add(name);
    return this.#json[name] ?? undefined;
  }

  /** A positive integer; `fallback` when absent (or null), else refused as missing. */
  count(name: string, fallback?: number): number {
    const v = this.raw(name);
    if (v === undefined && fallback !== undefined) return fallback;
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw this.invalid(name, v, 'a positive integer');
    return v as number;
  }

  /** A positive finite number. */
  positive(name: string, fallback?: number): number {
    const v = this.raw(name);
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw this.invalid(name, v, 'a positive number');
    }
    return v;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw this.invalid(name, v, 'true or false');
    return v;
  }

  string(name: string, fallback: string): string {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'string') throw this.invalid(name, v, 'a string');
    return v;
  }

  invalid(name: string, value: unknown, expected: string): ImportError {
    const found = value === undefined ? 'missing' : `${shown(value)}`;
    return new ImportError(
      'config_invalid',
      `${this.#file}: "${name}" is ${found}, expected ${expected}; fix config.json (it should be the one saved with the checkpoint)`,
    );
  }

  unsupported(name: string, value: unknown, why: string): ImportError {
    return new ImportError('architecture_unsupported', `${this.#file}: "${name}" is ${shown(value)}: ${why}`);
  }

  /** Refuses the first field present (not null) that was neither read nor listed as harmless. */
  refuseOthers(modelType: string, harmless: ReadonlySet<string>): void {
    for (const [name, value] of Object.entries(this.#json)) {
      if (this.#read.has(name) || harmless.has(name) || value === null) continue;
      throw this.unsupported(
        name,
        value,
        `warmgate does not know this field for model_type ${modelType}, and it may change what the model computes, so the import stops; if you know it does not (a training-only setting, say), remove it from config.json and import again`,
      );
    }
  }
}
