/**
 * Where a JSON text first goes wrong, as a line and column a person can open in an editor.
 * `JSON.parse` names a position for some errors only ("Unexpected token ']', "[1,]" is not
 * valid JSON" names none), so on the error path a small scanner walks the grammar (RFC 8259)
 * to the first byte that cannot continue it. Only called after JSON.parse failed: its speed
 * does not matter, its depth is bounded.
 */

/** nesting deeper than this is reported where it starts (JSON.parse goes deeper; this is an error path) */
const MAX_DEPTH = 4096

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const HEX4 = /[0-9a-fA-F]{4}/y

/** the index of the first character at which `text` stops being one JSON value (text.length: it ends too early); -1 when it is one */
export function jsonErrorIndex (text: string): number {
  let i = 0
  const ws = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i)
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return
      i++
    }
  }
  const string = (): boolean => {
    i++ // the opening quote
    while (i < text.length) {
      const c = text[i]
      if (c === '"') { i++; return true }
      if (c === '\\') {
        const e = text[i + 1]
        if (e === 'u') {
          HEX4.lastIndex = i + 2
          if (!HEX4.test(text)) { i += 2; return false }
          i += 6
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2
        else { i++; return false }
      } else if (text.charCodeAt(i) < 0x20) return false
      else i++
    }
    return false
  }
  const literal = (word: string): boolean => {
    for (let k = 0; k < word.length; k++, i++) if (text[i] !== word[k]) return false
    return true
  }
  const value = (depth: number): boolean => {
    ws()
    const c = text[i]
    if (c === '{' || c === '[') {
      if (depth >= MAX_DEPTH) return false
      const close = c === '{' ? '}' : ']'
      i++
      ws()
      if (text[i] === close) { i++; return true }
      for (;;) {
        if (c === '{') {
          ws()
          if (text[i] !== '"' || !string()) return false
          ws()
          if (text[i] !== ':') return false
          i++
        }
        if (!value(depth + 1)) return false
        ws()
        if (text[i] === ',') { i++; continue }
        if (text[i] === close) { i++; return true }
        return false
      }
    }
    if (c === '"') return string()
    if (c === 't') return literal('true')
    if (c === 'f') return literal('false')
    if (c === 'n') return literal('null')
    NUMBER.lastIndex = i
    const m = NUMBER.exec(text)
    if (m === null || m[0] === '' || m[0] === '-') return false
    i += m[0].length
    return true
  }
  if (!value(0)) return i
  ws()
  return i === text.length ? -1 : i
}

/** 1-based line and column of `index` in `text` (columns count UTF-16 units, as editors mostly do) */
export function lineColumnOf (text: string, index: number): { line: number, column: number } {
  let line = 1
  let from = 0
  for (let nl = text.indexOf('\n'); nl !== -1 && nl < index; nl = text.indexOf('\n', nl + 1)) {
    line++
    from = nl + 1
  }
  return { line, column: index - from + 1 }
}

/**
 * "line L, column C" of the first error in `text` (a JSON text JSON.parse refused); lines
 * counted from `firstLine` (a piece of a larger file), the column only on the piece's first line
 * when `firstColumn` is given
 */
export function jsonErrorAt (text: string, firstLine = 1, firstColumn = 1): string {
  const found = jsonErrorIndex(text)
  // JSON.parse refused what the grammar takes (it should not): point at the end
  const index = found === -1 ? text.length : found
  const { line, column } = lineColumnOf(text, index)
  const where = `line ${firstLine + line - 1}, column ${line === 1 ? firstColumn + column - 1 : column}`
  return index >= text.length ? `${where} (the text ends inside a value: truncated?)` : where
}
