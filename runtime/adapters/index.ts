export { AdapterError, type AdapterErrorCode } from './adapter-error.ts';
export { AdapterMemory, type AdapterMemoryStats } from './adapter-memory.ts';
export { type LoraAdapter, type LoraPair, loadPeftAdapter } from './peft-adapter.ts';
export { SlotStacks, type TargetStacks } from './slot-stacks.ts';
export { type SlotGrant, SlotTable } from './slot-table.ts';
export { writeRandomPeftAdapter } from './random-peft-adapter.ts';
