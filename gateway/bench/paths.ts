export { repoRoot } from '../../runtime/bench/repo-root.ts';

/** True under tsx (the tests), false in the build: children are started the same way. */
export const fromSource = import.meta.url.endsWith('.ts');
