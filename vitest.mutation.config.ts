/**
 * The tests Stryker runs against each mutant (stryker.config.mjs; docs/MUTATION.md).
 * A flat config (no `projects`): the unit tests and the in-process security e2e tests. Tests
 * that spawn `dist/` in a child process are left out: the mutants live in the sandbox's
 * src/, not in dist/, so those tests would only ever see the original code.
 */
import { configDefaults, defineConfig } from 'vitest/config'

/**
 * PHALANX_MUTATION_TESTS=unit: the unit tests only (a quick run on a small scope). Narrow the
 * tests here, not with Stryker's --testFiles: with a test filter Stryker 9.6 activates static
 * mutants (module-level code, e.g. the TLP rank table) at run time, after the module was
 * evaluated, and reports them survived whatever the tests do.
 */
const UNIT_ONLY = process.env.PHALANX_MUTATION_TESTS === 'unit'

export default defineConfig({
  test: {
    // the Node 20 polyfill (Promise.withResolvers for libp2p) loads before any test file; then
    // the credit of code run outside a test (beforeAll) to that file's tests (see the file)
    setupFiles: ['./test/utils/setup.ts', './stryker/hook-coverage.mjs'],
    include: UNIT_ONLY
      ? ['test/unit/**/*.test.ts']
      : [
          'test/unit/**/*.test.ts',
          'test/e2e/tlp-matrix.test.ts',
          'test/e2e/circles.test.ts',
          'test/e2e/taxii.test.ts',
          'test/e2e/read-token-legacy.test.ts',
          'test/e2e/revoke-reach.test.ts',
          'test/e2e/versions.test.ts',
          'test/e2e/hostile*.test.ts',
          'test/e2e/*security*.test.ts'
        ],
    exclude: [
      ...configDefaults.exclude,
      // child processes running dist/
      'test/e2e/cli.test.ts',
      'test/e2e/crash-*.test.ts',
      // the signer thread runs dist/src/signer/worker.js (absent from the sandbox): not a rule
      'test/unit/store/signer.test.ts'
    ],
    // vitest.config.ts's e2e limits (the unit project's 30 s is lower; a flat config has one)
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
