export { type Backoff, exponentialBackoff } from './backoff.js';
export { type AgentInfo, buildReport, SNAPSHOT_KEY } from './build.js';
export { Delivery, type DeliveryOptions } from './delivery.js';
export { hubSender, interpret, type SendReport, type SendResult } from './hub-client.js';
export { Outbox, type OutboxEntry, type OutboxStats } from './outbox.js';
