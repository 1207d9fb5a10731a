export { type HealthSummary, type PhaseInputs, type SyncPhase, summariseHealth, syncPhase } from './phase.js';
export {
  type Condition,
  conditionsOf,
  type HealthStatus,
  type ObjectHealth,
  objectHealth,
} from './status.js';
