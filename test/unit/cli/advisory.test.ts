/**
 * `phalanx advisory MESSAGE`: without --text the message's first line is the title (cut to
 * 200 characters) and the whole message the text; with --text the message is the title.
 */
import { describe, expect, it } from 'vitest'
import { titleAndText } from '../../../src/cli/advisory.js'

describe('titleAndText', () => {
  it('a one-line message is the title (the node makes the text the same)', () => {
    expect(titleAndText('Patch CVE-2026-1234 now', undefined)).toEqual({ title: 'Patch CVE-2026-1234 now' })
  })
  it('a message of several lines: the first is the title, the whole the text', () => {
    expect(titleAndText('Patch now\nSeen at two members.', undefined)).toEqual({ title: 'Patch now', text: 'Patch now\nSeen at two members.' })
  })
  it('a long first line is cut to 200 characters, ending in …', () => {
    const r = titleAndText('x'.repeat(300), undefined)
    expect(r.title).toHaveLength(200)
    expect(r.title.endsWith('…')).toBe(true)
    expect(r.text).toBe('x'.repeat(300))
  })
  it('with --text the message is the title', () => {
    expect(titleAndText('Title', 'The text')).toEqual({ title: 'Title', text: 'The text' })
  })
})
