/**
 * Vitest setup file of the mutation run (vitest.mutation.config.ts); does nothing outside Stryker.
 *
 * Stryker's per-test coverage credits code to the test that is running. Code that runs while
 * no test is (a file's beforeAll/afterAll, a libp2p callback between two tests) counts as
 * "static", and Stryker runs every test, with a fresh module load, for each such mutant: the
 * e2e tests start their nodes and form their circles in beforeAll, so most network mutants
 * were static, and the run took hours. Here, once a file's tests are collected (its module
 * code has run: that stays static, as it must), code run outside a test is credited to every
 * test of that file instead. Such a mutant then runs that file's tests (the runner activates
 * it before the file's beforeAll), which is what can kill it.
 *
 * Relies on the @stryker-mutator/vitest-runner 9.6 protocol: `inject('mode')`, the global
 * namespace's `currentTestId` and `mutantCoverage.perTest`, and its test ids
 * (`<file path>#<suite names and test name>`). Re-check when upgrading Stryker.
 */
import { afterAll, beforeAll, inject } from 'vitest'

const mode = inject('mode')
if (mode === 'dry-run') {
  const name = inject('globalNamespace')
  const ns = globalThis[name] ?? (globalThis[name] = {})
  const HOOKS = 'phalanx-outside-tests#'
  let current
  let collected = false
  Object.defineProperty(ns, 'currentTestId', {
    configurable: true,
    enumerable: true,
    get () { return current ?? (collected ? HOOKS : undefined) },
    set (v) { current = v }
  })
  beforeAll(() => { collected = true })
  // runs before the runner's own afterAll (after-hooks run in reverse), which hands the coverage on
  // eslint-disable-next-line no-empty-pattern
  afterAll(({}, suite) => {
    collected = false
    const perTest = ns.mutantCoverage?.perTest
    const outside = perTest?.[HOOKS]
    if (outside === undefined) return
    delete perTest[HOOKS]
    for (const test of testsOf(suite)) {
      const c = perTest[rawTestId(test)] ??= {}
      for (const [mutant, hits] of Object.entries(outside)) c[mutant] = (c[mutant] ?? 0) + hits
    }
  })
}

function testsOf (suite) {
  return (suite?.tasks ?? []).flatMap(t => t.type === 'suite' ? testsOf(t) : t.type === 'test' && t.mode !== 'skip' && t.mode !== 'todo' ? [t] : [])
}

/** the runner's test id (its test-helpers.js: toRawTestId, collectTestName) */
function rawTestId (test) {
  const parts = [test.name]
  for (let s = test.suite; s; s = s.suite) parts.unshift(s.name)
  return `${test.file?.filepath ?? 'unknown.js'}#${parts.join(' ').trim()}`
}
