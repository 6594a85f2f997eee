import { Decimal } from '../shared/money/decimal.js';
import { chargeModelFigures } from './charge-models/index.js';
import type { AdjustmentParams, ChargeParams, ConditionDefinition } from './types.js';

const HUNDRED = new Decimal(100);
const SCALE: Record<string, number> = { k: 1e3, K: 1e3, m: 1e6, M: 1e6, b: 1e9, B: 1e9 };

/**
 * Figures a description states: numbers standing alone (not inside names such as "gpt-4o",
 * "llama-3.1-405b" or sizes such as "1024x1024"), with an optional K/M/B multiplier ("10M") and
 * an optional percent sign. Thousands separators are read ("1,000,000").
 */
export function statedFigures(text: string): Array<{ text: string; value: Decimal }> {
  const out: Array<{ text: string; value: Decimal }> = [];
  const pattern = /(?<![\p{L}\p{N}_.\-/:])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s?([kKmMbB])?(?![\p{L}\p{N}_\-/])/gu;
  // Numbers touching a hyphen, slash or colon ("2026-07-01", "1.5-2") are dates or ranges, not prices.
  for (const m of text.matchAll(pattern)) {
    let value = new Decimal(`${m[1]!.replace(/,/g, '')}${m[2] ?? ''}`);
    if (m[3]) value = value.times(SCALE[m[3]]!);
    out.push({ text: m[0].trim(), value });
  }
  return out;
}

/** Every figure a charge's parameters justify: its prices, bounds and counts, per unit and per `per`, and tier discounts. */
function chargeFigures(p: ChargeParams): Decimal[] {
  const figures: Decimal[] = [];
  const per = new Decimal(p.per ?? '1');
  const price = (text: string) => figures.push(new Decimal(text), new Decimal(text).div(per));
  figures.push(per);
  if (p.freeUnits !== undefined) figures.push(new Decimal(p.freeUnits));
  chargeModelFigures(p, { figure: (x) => figures.push(new Decimal(x)), price });
  return figures;
}

function adjustmentFigures(p: AdjustmentParams): Decimal[] {
  if (p.kind === 'multiplier') {
    const f = new Decimal(p.factor);
    return [f, f.minus(1).times(HUNDRED).abs()];
  }
  return [new Decimal(p.percent)];
}

/** Decimal thresholds the rule's conditions compare with ("the first 10 images" of `period.quantity < 10`). */
function conditionFigures(c: ConditionDefinition, out: Decimal[] = []): Decimal[] {
  if ('all' in c) c.all.forEach((x) => conditionFigures(x, out));
  else if ('any' in c) c.any.forEach((x) => conditionFigures(x, out));
  else if ('not' in c) conditionFigures(c.not, out);
  else if (typeof c.value === 'string' && /^[0-9]+(\.[0-9]+)?$/.test(c.value)) out.push(new Decimal(c.value));
  return out;
}

/**
 * The figures a description states that its rule does not: a price written in a description
 * goes stale when the price changes, so `rules validate` refuses one that disagrees with the
 * charge or adjustment (or with the thresholds of the rule's conditions).
 */
export function staleFigures(description: string, rule: { conditions: ConditionDefinition; event: { type: 'charge'; params: ChargeParams } | { type: 'adjustment'; params: AdjustmentParams } }): string[] {
  const own = rule.event.type === 'charge' ? chargeFigures(rule.event.params) : adjustmentFigures(rule.event.params);
  const known = [...own, ...conditionFigures(rule.conditions)];
  return statedFigures(description)
    .filter((f) => !known.some((k) => k.equals(f.value)))
    .map((f) => f.text);
}
