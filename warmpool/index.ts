export * from './lifecycle/index.ts';
export * from './providers/index.ts';
export * from './leader/index.ts';
export * from './pool/index.ts';
export * from './controller/index.ts';
export * from '../gateway/shared-instance-registry/index.ts';
export * from './artifacts/index.ts';
