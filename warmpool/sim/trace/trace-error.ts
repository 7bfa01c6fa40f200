/** Malformed trace input: names the file, the line (1-based) and what is wrong with it. */
export class TraceError extends Error {
  override readonly name = 'TraceError';

  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
  }
}
