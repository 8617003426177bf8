/**
 * Guarded polyfills for Node 20. libp2p 3 needs `Promise.withResolvers` (Node 22+).
 * Import this first in every entry point; it defines nothing that already exists.
 */
if (typeof (Promise as any).withResolvers !== 'function') {
  ;(Promise as any).withResolvers = function withResolvers<T> () {
    let resolve!: (value: T | PromiseLike<T>) => void
    let reject!: (reason?: unknown) => void
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
export {}
