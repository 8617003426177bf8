/**
 * Repeated benchmark runs as one result (issue 17: each target is the median of 3 runs).
 */

/**
 * The runs' results as one: every number is the median of the runs' values of that field (the
 * middle one; the mean of the two middle ones for an even count), and beside each `p99ms` its
 * runs (`p99msRuns`, in run order); anything else (lists, text) is the first run's.
 */
export function medianFields (values: unknown[]): unknown {
  if (values.length > 0 && values.every(v => typeof v === 'number')) {
    const sorted = (values as number[]).slice().sort((a, b) => a - b)
    const mid = sorted.length >> 1
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
  if (values.length > 1 && values.every(isRecord)) {
    const out: Record<string, unknown> = {}
    for (const key of new Set(values.flatMap(v => Object.keys(v)))) {
      const column = values.map(v => v[key]).filter(v => v !== undefined)
      out[key] = medianFields(column)
      if (key === 'p99ms' && column.length > 1) out.p99msRuns = column
    }
    return out
  }
  return values[0]
}
