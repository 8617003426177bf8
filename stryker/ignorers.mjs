/**
 * Stryker ignore-plugin for the mutation run (stryker.config.mjs, `ignorers: ['phalanx-noise']`).
 * Inside the security-rule ranges, these are not rules, so their mutants are reported as
 * "Ignored" instead of being run:
 * - logger calls (`this.#log.warn(…)`, `log.info(…)`, `childLogger(…).error(…)`): the whole call;
 * - the human-readable parts of a refusal: every argument of `new PhalanxError(code, …)` after
 *   the code (message, {field}), every argument of `new ValidationError(field, message)`, and
 *   the message given to `notMember(…)` (circles/state.ts) and to `reject(…)` (the gossip
 *   validator's refusal helper, p2p/network.ts), and the label `this.#serve(stream, conn, 'red', …)`
 *   gives its log lines.
 * - the `message` of a TLP policy `Violation` object (`{ field, message }`, src/tlp/policy.ts).
 * The error *code* (PhalanxError's first argument) stays mutated: tests tell a TLP violation
 * from a membership refusal by it.
 */
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin'

const LOG_METHODS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
/** callee name → index of the first argument that is only text for people */
const MESSAGE_ARGS_FROM = new Map([['PhalanxError', 1], ['ValidationError', 0], ['notMember', 0], ['reject', 0], ['#serve', 2]])

/** `f(…)` → 'f'; `this.#f(…)` → '#f' */
function calleeName (callee) {
  if (callee.type === 'Identifier') return callee.name
  if (callee.type === 'MemberExpression' && callee.object.type === 'ThisExpression' && callee.property.type === 'PrivateName') return `#${callee.property.id.name}`
  return undefined
}

/** `this.#log`, `this.log`, `log`, `childLogger(…)` */
function isLogger (node) {
  if (node.type === 'Identifier') return node.name === 'log'
  if (node.type === 'MemberExpression') {
    const p = node.property
    return (p.type === 'PrivateName' && p.id.name === 'log') || (p.type === 'Identifier' && p.name === 'log' && !node.computed)
  }
  if (node.type === 'CallExpression') return node.callee.type === 'Identifier' && node.callee.name === 'childLogger'
  return false
}

function isLogCall (node) {
  if (node.type !== 'CallExpression' || node.callee.type !== 'MemberExpression') return false
  const m = node.callee
  return !m.computed && m.property.type === 'Identifier' && LOG_METHODS.has(m.property.name) && isLogger(m.object)
}

const noise = {
  shouldIgnore (path) {
    if (isLogCall(path.node)) return 'logging, not a rule (stryker/ignorers.mjs)'
    // a TLP policy Violation's `message` (src/tlp/policy.ts): text for people; its `field` stays mutated
    if (path.parentPath?.node.type === 'ObjectProperty' && path.key === 'value' && !path.parentPath.node.computed &&
      path.parentPath.node.key.type === 'Identifier' && path.parentPath.node.key.name === 'message') return 'a violation\'s message text, not a rule (stryker/ignorers.mjs)'
    const parent = path.parentPath?.node
    if (path.listKey === 'arguments' && parent !== undefined && (parent.type === 'NewExpression' || parent.type === 'CallExpression')) {
      const name = calleeName(parent.callee)
      const from = name === undefined ? undefined : MESSAGE_ARGS_FROM.get(name)
      if (from !== undefined && path.key >= from) return `${name} message text, not a rule (stryker/ignorers.mjs)`
    }
    return undefined
  }
}

export const strykerPlugins = [declareValuePlugin(PluginKind.Ignore, 'phalanx-noise', noise)]
