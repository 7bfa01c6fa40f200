export * from './lifecycle/index.ts';
export * from './providers/index.ts';
