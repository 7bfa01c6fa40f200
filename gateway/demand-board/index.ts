export {
  DemandBoard,
  type DemandBoardOptions,
  type FirstTokenSummary,
  type GateDemand,
  mergeFirstTokens,
} from './demand-board.ts';
