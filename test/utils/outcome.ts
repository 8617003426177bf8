/** Test helper: how a call ended, as text a test can compare ("resolved", or "CODE: message"). */
import { PhalanxError } from '../../src/errors.js'

export async function codeOf (p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return err instanceof PhalanxError ? `${err.code}: ${err.message}` : `non-phalanx: ${String(err)}`
  }
  return 'resolved'
}
