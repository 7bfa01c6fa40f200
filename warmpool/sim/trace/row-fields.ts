/**
 * The fields of one trace row, checked as they are read. The first problem is kept as a value (not
 * thrown) so that the reader decides: fail naming the line, or skip the row (--skip-invalid).
 */
export class RowFields {
  readonly #row: Readonly<Record<string, unknown>>;
  #problem: string | undefined;

  constructor(row: Readonly<Record<string, unknown>>) {
    this.#row = row;
  }

  /** What is wrong with the row, for the first field that was wrong. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /** A number ≥ `min` (default 0), an integer if asked; undefined when absent (a problem if required). */
  number(key: string, o: { required?: boolean; integer?: boolean; min?: number } = {}): number | undefined {
    const raw = this.#row[key];
    if (raw === undefined || raw === null) {
      if (o.required) this.#fail(`${key} is missing`);
      return undefined;
    }
    const v =
      typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    const min = o.min ?? 0;
    if (!Number.isFinite(v) || v < min || (o.integer && !Number.isInteger(v))) {
      this.#fail(
        `${key} must be ${o.integer ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(raw)}`,
      );
      return undefined;
    }
    return v;
  }

  /** A non-empty string; undefined (and a problem) otherwise. */
  string(key: string): string | undefined {
    const raw = this.#row[key];
    if (typeof raw === 'string' && raw !== '') return raw;
    this.#fail(`${key} must be a non-empty string, got ${JSON.stringify(raw ?? null)}`);
    return undefined;
  }

  #fail(problem: string): void {
    this.#problem ??= problem;
  }
}

/** One JSON object from a line, or what is wrong with the line. */
export function parseJsonObject(line: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return `not valid JSON: ${(e as Error).message}`;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'expected one JSON object per line';
  return v as Record<string, unknown>;
}

/**
 * A CSV line's fields (or splitCsv's problem with them) as a record by header name, or what is wrong
 * with the line. Empty cells are left out: absent, as in JSON.
 */
export function csvRecord(
  header: readonly string[],
  fields: readonly string[] | string,
): Record<string, string> | string {
  if (typeof fields === 'string') return fields;
  if (fields.length !== header.length) return `expected ${header.length} fields, found ${fields.length}`;
  const r: Record<string, string> = {};
  header.forEach((h, i) => {
    if (fields[i] !== '') r[h] = fields[i]!;
  });
  return r;
}
