import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The first 6 functions of the Azure Functions 2019 trace, with their durations (test/fixtures/README.md). */
export const AZURE = new URL('../../fixtures/azure2019-sample-invocations.csv', import.meta.url).pathname;

/** A temp folder; `remove()` in an `after` hook. */
export function tempDir(): { path: string; file(name: string, text: string): string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'wg-sim-'));
  return {
    path,
    file(name, text) {
      const f = join(path, name);
      writeFileSync(f, text);
      return f;
    },
    remove() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** A generic CSV trace from `[timestamp_ms, model, duration_ms]` rows. */
export function csvTrace(rows: readonly (readonly [number, string, number])[]): string {
  return ['timestamp_ms,model,duration_ms', ...rows.map((r) => r.join(','))].join('\n') + '\n';
}

/** An Azure invocations file: one row of per-minute counts per function. */
export function azureInvocations(rows: Record<string, readonly number[]>): string {
  const minutes = Object.values(rows)[0]!.length;
  const head = [
    'HashFunction',
    'HashApp',
    'HashOwner',
    ...Array.from({ length: minutes }, (_, i) => `minute_${i + 1}`),
  ];
  return (
    [head.join(','), ...Object.entries(rows).map(([n, c]) => [n, n, n, ...c].join(','))].join('\n') + '\n'
  );
}

export const DURATIONS_HEAD =
  'HashFunction,HashApp,HashOwner,Count,Average,Minimum,Maximum,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100';

/** An Azure LLM inference 2023 trace from `[TIMESTAMP, ContextTokens, GeneratedTokens]` rows. */
export function azureLlmCsv(rows: readonly (readonly [string, number, number])[]): string {
  return ['TIMESTAMP,ContextTokens,GeneratedTokens', ...rows.map((r) => r.join(','))].join('\n') + '\n';
}

/** A Mooncake trace from `[timestamp ms, input_length, output_length]` rows (hash_ids as the real one has). */
export function mooncakeJsonl(rows: readonly (readonly [number, number, number])[]): string {
  return (
    rows
      .map(([timestamp, input, output], i) =>
        JSON.stringify({ timestamp, input_length: input, output_length: output, hash_ids: [i] }),
      )
      .join('\n') + '\n'
  );
}
