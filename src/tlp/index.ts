/**
 * TLP 2.0: the labels (labels.ts) and the policy that decides who may receive what (policy.ts,
 * DESIGN §2). Every TLP decision of Phalanx is made here.
 */
export * from './labels.js'
export * from './policy.js'
