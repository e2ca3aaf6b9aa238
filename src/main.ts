/**
 * Ricochet's library entry point: run a node from code (tests, embedding) with the same pieces
 * the CLI uses. The CLI itself is `src/cli/main.ts`.
 */
export { RicochetNode, type NodeOptions } from './node.ts';
export { loadConfig, parseConfig, ConfigError } from './config/load.ts';
export type { NodeConfig, AppConfig } from './config/types.ts';
export type { App, Machine, MachineConfig, Service } from './catalog/types.ts';
export { createLogger } from './log.ts';
export { ProxyError, ERROR_CODES, type ErrorCode } from './proxy/errors.ts';
