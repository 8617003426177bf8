/**
 * Poll `fn` until it returns something other than undefined or false, and return that;
 * fail naming `what` after `timeoutMs`. Multi-node tests wait on what each node stores.
 */
export async function until<T> (what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const t0 = Date.now()
  while (true) {
    const v = await fn()
    if (v !== undefined && v !== false) return v
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}
