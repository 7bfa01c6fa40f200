// The load and soak benchmark (`npm run soak`, main.ts): its pure parts, for tests and other benches.
export { parseConvTrace, parseTimestamp, TraceFormatError, type TraceRow } from './trace.ts';
export {
  planSchedule,
  type PlannedRequest,
  type Schedule,
  type ScheduleMapping,
  type ScheduleOptions,
} from './schedule.ts';
export {
  asciiCorpus,
  buildConversations,
  type ConversationOptions,
  DEFAULT_CONVERSATIONS,
  type SoakMessage,
  type SoakRequest,
} from './conversations.ts';
export { SseScan } from './sse-scan.ts';
export { failed, type LoadSummary, type Outcome, summarise } from './outcome.ts';
export { handleDelta, soakJson, type SoakJson, summaryLines } from './report.ts';
export { describeWorkload, loadWorkload, type Workload, type WorkloadOptions } from './workload.ts';
