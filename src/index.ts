/**
 * Phalanx: a peer-to-peer daemon that shares signed, TLP-tagged indicators of compromise
 * between organizations that trust each other. This module is the public surface for
 * programs that embed a node: the node itself, its configuration, and the pure modules
 * (records, TLP) whose rules every node shares.
 */
import './polyfill.js'

export { PhalanxNode } from './node.js'
export type { NodeStatus, PublishOutcome } from './node.js'
export { loadConfig } from './config/index.js'
export type { PhalanxConfig } from './config/index.js'
export { PhalanxError, ValidationError, ERROR_CODES } from './errors.js'
export type { ErrorCode } from './errors.js'
export * as records from './records/index.js'
export * as tlp from './tlp/index.js'
export * as identity from './identity/index.js'
export { checkStore, LevelStore } from './store/index.js'
