export * from './lifecycle/index.ts';
export * from './providers/index.ts';
export * from './leader/index.ts';
