export { type HealthSummary, type PhaseInputs, type SyncPhase, summariseHealth, syncPhase } from './phase.js';
export {
  type Condition,
  conditionsOf,
  type ObjectHealth,
  type ObjectStatus,
  objectHealth,
} from './status.js';
