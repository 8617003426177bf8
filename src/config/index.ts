/**
 * Configuration: one schema, loaded from default → file → env → flags, validated once and
 * frozen. An unknown key or a bad value names the key (PX_ERR_CONFIG, exit code 2).
 */
export { configSchema } from './schema.js'
export type { PhalanxConfig } from './schema.js'
export { loadConfig, envOverrides, ENV_KEYS, defaultConfigPath } from './load.js'
export type { LoadConfigOptions } from './load.js'
