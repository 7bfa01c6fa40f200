// The simulator streams its traces with the repository's data reader (plain or gzipped files alike).
export { linesOf } from '../../../runtime/bench/data-files.ts';
