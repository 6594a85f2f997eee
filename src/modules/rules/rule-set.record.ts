import type { RuleFileProblem } from '../../rating/validate.js';

/** A published, immutable rule-set version as stored in rule_set_version. */
export interface PublishedRuleSet {
  key: string;
  version: number;
  hash: string;
  effectiveFrom: Date;
  currency: string;
  content: unknown;
  sourceFile: string | null;
  publishedAt: Date;
}

export const RuleSetStatus = {
  /** Published; prices the events of its effective window. */
  SERVING: 'SERVING',
  /** Published; its effectiveFrom is still ahead, so it prices no event yet (it will from then on). */
  SCHEDULED: 'SCHEDULED',
  /** The file has errors; it is not used (a published version of the same number keeps serving). */
  INVALID: 'INVALID',
  /** The file differs from the version published under its number; the published content keeps serving. */
  CHANGED_AFTER_PUBLISHING: 'CHANGED_AFTER_PUBLISHING',
} as const;
export type RuleSetStatus = (typeof RuleSetStatus)[keyof typeof RuleSetStatus];

/** What a rule set prices (its `purpose`): customers' charges, or what serving events costs (a cost book). */
export const RuleSetKind = {
  PRICE: 'PRICE',
  COST: 'COST',
} as const;
export type RuleSetKind = (typeof RuleSetKind)[keyof typeof RuleSetKind];

export interface RuleFileError extends RuleFileProblem {
  file: string;
}

/** What the ruleSets query shows: a published version, or a file that could not be used. */
export interface RuleSetEntry {
  key: string | null;
  version: number | null;
  effectiveFrom: Date | null;
  currency: string | null;
  /** PRICE or COST (a cost book); null for a file that could not be used. */
  purpose: RuleSetKind | null;
  hash: string | null;
  status: RuleSetStatus;
  file: string | null;
  publishedAt: Date | null;
  errors: RuleFileError[];
}
