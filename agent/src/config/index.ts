export { formatDuration, intervalToCron, parseDuration } from '../../../contract/duration.js';
export { AGENT_USAGE, ConfigError, type LoadedConfig, loadConfig, validate } from './load.js';
export type {
  AgentConfig,
  AgentConfigInput,
  HubConfig,
  SourceAuth,
  SourceConfig,
  SourceKind,
} from './schema.js';
export { sourceKind } from './schema.js';
