/**
 * Markdown summary of a mutation report: per-file score table, then the surviving (and
 * not covered) mutants grouped by file, as file:line:column, mutator, original → replacement.
 * Usage: node stryker/summary.mjs [reports/mutation/mutation.json]
 */
import { readFileSync } from 'node:fs'

const report = JSON.parse(readFileSync(process.argv[2] ?? 'reports/mutation/mutation.json', 'utf8'))
const UNDETECTED = new Set(['Survived', 'NoCoverage'])
const oneLine = (s) => s.replace(/\s+/g, ' ').trim()
const cell = (s) => oneLine(s).replace(/\|/g, '\\|')

/** the source text a mutant replaces (its location is 1-based lines, 1-based columns) */
function original (source, { start, end }) {
  const lines = source.split('\n')
  if (start.line === end.line) return lines[start.line - 1].slice(start.column - 1, end.column - 1)
  return [lines[start.line - 1].slice(start.column - 1), ...lines.slice(start.line, end.line - 1), lines[end.line - 1].slice(0, end.column - 1)].join('\n')
}

const short = (s, n = 90) => { const t = oneLine(s); return t.length > n ? `${t.slice(0, n - 1)}…` : t }

const rows = []
const total = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, errors: 0, ignored: 0 }
const survivors = []
for (const [file, { source, mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  const c = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, errors: 0, ignored: 0 }
  for (const m of mutants) {
    if (m.status === 'Killed') c.killed++
    else if (m.status === 'Timeout') c.timeout++
    else if (m.status === 'Survived') c.survived++
    else if (m.status === 'NoCoverage') c.noCoverage++
    else if (m.status === 'Ignored') c.ignored++
    else c.errors++
    if (UNDETECTED.has(m.status)) survivors.push({ file, m, from: original(source, m.location) })
  }
  for (const k of Object.keys(total)) total[k] += c[k]
  rows.push([file, c])
}
const score = (c) => { const d = c.killed + c.timeout; const n = d + c.survived + c.noCoverage; return n === 0 ? 'n/a' : `${(100 * d / n).toFixed(1)} %` }
console.log('| file | score | killed | timeout | survived | no coverage | errors | ignored |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const [file, c] of [...rows, ['**all**', total]]) {
  console.log(`| ${file} | ${score(c)} | ${c.killed} | ${c.timeout} | ${c.survived} | ${c.noCoverage} | ${c.errors} | ${c.ignored} |`)
}
let last
for (const { file, m, from } of survivors.sort((a, b) => a.file.localeCompare(b.file) || a.m.location.start.line - b.m.location.start.line || a.m.location.start.column - b.m.location.start.column)) {
  if (file !== last) { console.log(`\n#### ${file}\n`); last = file }
  const status = m.status === 'NoCoverage' ? ' (no coverage)' : ''
  console.log(`- \`${file}:${m.location.start.line}:${m.location.start.column}\` ${m.mutatorName}${status}: \`${cell(short(from))}\` → \`${cell(short(m.replacement ?? ''))}\``)
}
