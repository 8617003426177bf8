/**
 * Display-safe text: the one home of the rule on what a name, a tag or a free text may hold.
 *
 * What people compare by phone is a fingerprint printed next to a name. A name that holds a
 * carriage return, an ANSI escape, a bidirectional override or an invisible character can
 * move the cursor, erase a line, reorder what follows or look like another name, so it could
 * print someone else's fingerprint on an impostor's line. So:
 * - a name (organization, circle) and a tag holds none of the characters below;
 * - a free text (description, note, reason) may hold LF and TAB, and none of the others;
 * - the CLI escapes every one of them on output anyway (`escapeForTerminal`), a second line of
 *   defense for what a store kept from before the rule (v0.1) or what a node sends.
 *
 * The characters (the rule applies on entry: API, CLI, config, join, gossip, sync, imports):
 * - C0 controls U+0000–U+001F and DEL U+007F; C1 controls U+0080–U+009F (U+009B is a CSI);
 * - bidirectional controls: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069;
 * - invisible characters: U+00AD (soft hyphen), U+180E, U+200B–U+200D (zero width, ZWJ too),
 *   U+2060–U+2064, U+206A–U+206F (deprecated format controls), U+FEFF (BOM), U+FFF9–U+FFFB
 *   (interlinear annotation), U+E0000–U+E007F (tag characters, which hide ASCII);
 * - U+2028, U+2029 (line and paragraph separators: line breaks to some displays);
 * - a lone surrogate (never in a checked text: canonical JSON refuses it; escaped on output).
 * Pure: no I/O.
 */
import { ValidationError } from '../errors.js'

/** the characters no name or tag holds (see the module comment) */
// eslint-disable-next-line no-control-regex, no-misleading-character-class
const UNSAFE_RE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}]|[\ud800-\udfff]/u
/** the same, but LF and TAB are allowed (free text) */
// eslint-disable-next-line no-control-regex, no-misleading-character-class
const UNSAFE_TEXT_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}]|[\ud800-\udfff]/u
const UNSAFE_ALL_RE = new RegExp(UNSAFE_RE.source, 'gu')
// eslint-disable-next-line no-control-regex, no-misleading-character-class
const UNSAFE_KEEP_LINES_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}]|[\ud800-\udfff]/gu

/** `U+001B`: a code point as people write it */
export function codePointName (c: string): string {
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
}

/** what kind of character `c` is, for a message */
function kindOf (c: string): string {
  const cp = c.codePointAt(0) ?? 0
  if (cp <= 0x1f || cp === 0x7f) return 'a control character'
  if (cp >= 0x80 && cp <= 0x9f) return 'a C1 control character'
  if (cp === 0x061c || cp === 0x200e || cp === 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) return 'a bidirectional control'
  if (cp === 0x2028 || cp === 0x2029) return 'a line or paragraph separator'
  if (cp >= 0xd800 && cp <= 0xdfff) return 'a lone surrogate'
  return 'an invisible character'
}

/** the first character of `s` a name may not hold, or undefined */
export function unsafeCharOf (s: string, opts: { allowLines?: boolean } = {}): string | undefined {
  return (opts.allowLines === true ? UNSAFE_TEXT_RE : UNSAFE_RE).exec(s)?.[0]
}

/** may `s` be shown as a name or a tag (none of the characters above) */
export function isDisplaySafeName (s: string): boolean {
  return !UNSAFE_RE.test(s)
}

/** may `s` be shown as a free text (LF and TAB allowed) */
export function isDisplaySafeText (s: string): boolean {
  return !UNSAFE_TEXT_RE.test(s)
}

/** `U+001B (a control character)` */
export function describeUnsafe (c: string): string {
  return `${codePointName(c)} (${kindOf(c)})`
}

/** the message for a text that holds `c` */
export function unsafeMessage (field: string, c: string): string {
  return `${field} must not contain ${describeUnsafe(c)}: it could make the text display as something it is not`
}

/** throw a ValidationError naming the field and the character when `s` is not a safe name */
export function assertDisplaySafeName (s: string, field: string): void {
  const c = unsafeCharOf(s)
  if (c !== undefined) throw new ValidationError(field, unsafeMessage(field, c))
}

/** throw a ValidationError naming the field and the character when `s` is not a safe free text */
export function assertDisplaySafeText (s: string, field: string): void {
  const c = unsafeCharOf(s, { allowLines: true })
  if (c !== undefined) throw new ValidationError(field, unsafeMessage(field, c))
}

/**
 * A name (organization, circle) as given by a user or a peer: a string of at most max
 * characters, trimmed, display-safe once trimmed. Returns undefined for an absent or blank one.
 */
export function displaySafeName (raw: unknown, field: string, max: number): string | undefined {
  if (raw === undefined || raw === null) return undefined
  if (typeof raw !== 'string') throw new ValidationError(field, `${field} must be a string`)
  if (raw.length > max) throw new ValidationError(field, `${field} has at most ${max} characters`)
  // surrounding white space (a CRLF's CR, say) is trimmed, as ever; what is left must be safe
  const s = raw.trim()
  assertDisplaySafeName(s, field)
  return s === '' ? undefined : s
}

/** a free text (description, note, reason): as displaySafeName, but LF and TAB are allowed */
export function displaySafeText (raw: unknown, field: string, max: number): string | undefined {
  if (raw === undefined || raw === null) return undefined
  if (typeof raw !== 'string') throw new ValidationError(field, `${field} must be a string`)
  if (raw.length > max) throw new ValidationError(field, `${field} has at most ${max} characters`)
  const s = raw.trim()
  assertDisplaySafeText(s, field)
  return s === '' ? undefined : s
}

function escapeChar (c: string): string {
  const cp = c.codePointAt(0) ?? 0
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, '0')}`
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`
  return `\\u{${cp.toString(16)}}`
}

/**
 * `s` for a terminal: every character above (LF and TAB too, unless `keepLines`) written as a
 * visible escape (`\x1b`, `\x0d`, `\u202e`, `\u{e0041}`). A backslash is left as it is: the
 * escapes are for reading, not for parsing back.
 */
export function escapeForTerminal (s: string, opts: { keepLines?: boolean } = {}): string {
  return s.replace(opts.keepLines === true ? UNSAFE_KEEP_LINES_RE : UNSAFE_ALL_RE, escapeChar)
}

/**
 * JSON text for a terminal or a pipe: JSON.stringify escapes C0 controls but writes C1
 * controls, bidirectional and invisible characters and U+2028/U+2029 as they are; this
 * writes them as \uXXXX escapes too. They only occur inside JSON strings, so the text parses
 * to the same value.
 */
export function escapeJsonText (json: string): string {
  return json.replace(UNSAFE_ALL_RE, c => {
    let out = ''
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`
    return out
  })
}
