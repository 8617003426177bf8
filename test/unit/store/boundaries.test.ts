/**
 * DESIGN §6 for the store, checked on the source: only src/store/ touches LevelDB or the
 * store's write and bucket handles (writeBatch, readBucket); the CLI imports no store.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = join(import.meta.dirname, '../../../src')

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(d => d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [])
}

const files = sources(SRC).map(f => ({ path: relative(SRC, f), text: readFileSync(f, 'utf8') }))
const outsideStore = files.filter(f => !f.path.startsWith('store/'))

describe('store boundaries', () => {
  it('finds the sources (the check below is not vacuous)', () => {
    expect(files.some(f => f.path === 'store/level-store.ts')).toBe(true)
    expect(outsideStore.some(f => f.path === 'circles/manager.ts')).toBe(true)
  })

  it('no module outside src/store imports level, abstract-level or the store\'s level-store.js', () => {
    const offenders = outsideStore.filter(f => /from '(level|abstract-level|classic-level)'|level-store\.js'/.test(f.text)).map(f => f.path)
    expect(offenders).toEqual([])
  })

  it('only the store\'s own modules use its write batch and bucket handles', () => {
    const offenders = outsideStore.filter(f => /\b(writeBatch|readBucket)\b/.test(f.text)).map(f => f.path)
    expect(offenders).toEqual([])
  })

  it('the CLI imports nothing from src/store (verify goes through src/operations)', () => {
    const offenders = files.filter(f => f.path.startsWith('cli/') && /from '\.\.\/store\//.test(f.text)).map(f => f.path)
    expect(offenders).toEqual([])
  })
})
