/**
 * `phalanx start` lowers V8's optimization budget (src/v8-tiering.ts). The flag is
 * process-wide, so the check runs in a child process with `--trace-opt`: a small function
 * called 1,500 times is optimized with the daemon's budget and not with V8's default (which
 * needs more than 3,000 calls of it).
 */
import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { TIERING_FLAGS } from '../../src/v8-tiering.js'

const built = fileURLToPath(new URL('../../dist/src/v8-tiering.js', import.meta.url))

/** how many times V8 compiled `hot` with TurboFan in a child that calls it `calls` times */
function turbofanCompiles (tune: boolean, calls: number): number {
  const script = `
    ${tune ? `const { tuneTiering } = await import(${JSON.stringify(pathToFileURL(built).href)}); tuneTiering()` : ''}
    function hot (a, b) { return (a * 31 + b.length) | 0 }
    let s = 0
    for (let i = 0; i < ${calls}; i++) { s += hot(i, 'abc'); if (i % 50 === 0) await new Promise(r => setImmediate(r)) }
    process.stdout.write('sum ' + s + '\\n')`
  const out = execFileSync(process.execPath, ['--trace-opt', '--input-type=module', '-e', script], { encoding: 'utf8' })
  expect(out).toMatch(/^sum -?\d+$/m)
  return out.split('\n').filter(l => l.includes('completed compiling') && l.includes('<JSFunction hot ') && l.includes('TURBOFAN')).length
}

describe(`V8 tiering for a node (${TIERING_FLAGS})`, () => {
  it('a function called 1,500 times is optimized with the node\'s budget, not with V8\'s default', () => {
    expect(existsSync(built), 'dist/ is built (npm run build)').toBe(true)
    expect(turbofanCompiles(false, 1500)).toBe(0)
    expect(turbofanCompiles(true, 1500)).toBeGreaterThanOrEqual(1)
  })
})
