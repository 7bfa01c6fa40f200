export { DemandBoard, type DemandBoardOptions, type GateDemand } from './demand-board.ts';
