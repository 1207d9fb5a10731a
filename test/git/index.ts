export * from './repo.js';
export * from './server.js';
