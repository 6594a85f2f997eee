import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType } from '../../graphql/pagination.js';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import type { AggregateRating } from '../../rating/rate-aggregate.js';
import type { EventRating, PricedLine, TierPart } from '../../rating/types.js';
import { Decimal, formatDecimal } from '../../shared/money/decimal.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import type { ChargePreview } from './charge-preview.service.js';
import { RuleSetRefObject, TierPartObject } from '../usage/index.js';
import { RuleSetKind, RuleSetStatus, type RuleSetEntry } from './rule-set.record.js';

registerEnumType(RuleSetStatus, {
  name: 'RuleSetStatus',
  valuesConfig: {
    SERVING: { description: 'Published; prices the events of its effective window.' },
    SCHEDULED: { description: 'Published, but its effectiveFrom is still ahead: it prices events from then on.' },
    INVALID: { description: 'The file has errors and is not used.' },
    CHANGED_AFTER_PUBLISHING: { description: 'The file differs from the published version of its number; the published one keeps serving.' },
  },
});

registerEnumType(RuleSetKind, {
  name: 'RuleSetPurpose',
  description: 'What a rule set prices: its `purpose` in the file.',
  valuesConfig: {
    PRICE: { description: 'What customers are charged: plans name it.' },
    COST: { description: 'A cost book: what serving each event costs, rated beside its price; never a plan’s price.' },
  },
});

@ObjectType('RuleFileError')
export class RuleFileErrorObject {
  @Field(() => String)
  file!: string;

  @Field(() => Int)
  line!: number;

  @Field(() => Int)
  column!: number;

  @Field(() => String, { description: 'JSON pointer of the faulty value.' })
  pointer!: string;

  @Field(() => String)
  message!: string;
}

@ObjectType('RuleSetVersion', { description: 'A published rule-set version, or a rule file that could not be used.' })
export class RuleSetVersionObject {
  @Field(() => String, { nullable: true })
  key!: string | null;

  @Field(() => Int, { nullable: true })
  version!: number | null;

  @Field(() => Date, { nullable: true })
  effectiveFrom!: Date | null;

  @Field(() => String, { nullable: true })
  currency!: string | null;

  @Field(() => RuleSetKind, { nullable: true, description: 'PRICE or COST (a cost book); null for a file that could not be used.' })
  purpose!: RuleSetKind | null;

  @Field(() => String, { nullable: true, description: 'SHA-256 of the canonical JSON content.' })
  hash!: string | null;

  @Field(() => RuleSetStatus)
  status!: RuleSetStatus;

  @Field(() => String, { nullable: true })
  file!: string | null;

  @Field(() => Date, { nullable: true })
  publishedAt!: Date | null;

  @Field(() => [RuleFileErrorObject])
  errors!: RuleFileErrorObject[];
}

@ObjectType('RuleRefusal')
export class RuleRefusalObject {
  @Field(() => String)
  code!: string;

  @Field(() => String)
  message!: string;

  @Field(() => String)
  rule!: string;
}

@ObjectType('PricedLine')
export class PricedLineObject {
  @Field(() => String)
  componentId!: string;

  @Field(() => String)
  model!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => DecimalScalar)
  quantity!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Exact amount, before rounding; null when only per-event amounts add up right.' })
  amount!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'What is charged, at the ledger scale (1e-9).' })
  charged!: string | null;

  @Field(() => [TierPartObject])
  tiers!: TierPartObject[];

  @Field(() => [String], { description: 'Adjustments applied to this line, by id.' })
  adjustments!: string[];

  @Field(() => Boolean, { description: 'True when the amount is provisional until the period closes (volume tiers, LATEST and RECURRING meters).' })
  provisional!: boolean;

  @Field(() => Boolean, {
    description: 'Aggregate previews: true when the amount rests on an assumption (free events of a percentage charge, whose values a total cannot tell, taken as average).',
  })
  estimated!: boolean;
}

@ObjectType('ChargePreview')
export class ChargePreviewObject {
  @Field(() => RuleSetRefObject)
  ruleSet!: RuleSetRefObject;

  @Field(() => [String], { description: 'Rules that fired, in the order applied.' })
  firedRules!: string[];

  @Field(() => RuleRefusalObject, { nullable: true })
  refusal!: RuleRefusalObject | null;

  @Field(() => [PricedLineObject])
  lines!: PricedLineObject[];

  @Field(() => DecimalScalar, { nullable: true, description: 'Sum of exact line amounts.' })
  amount!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Sum charged, at the ledger scale.' })
  charged!: string | null;
}

export const RuleSetVersionConnection = connectionType('RuleSetVersion', RuleSetVersionObject);

export const toRuleSetVersionObject = (e: RuleSetEntry): RuleSetVersionObject => ({ ...e });

const toTierPart = (t: TierPart): TierPartObject => ({
  tier: t.tier,
  quantity: formatDecimal(t.quantity),
  unitPrice: formatDecimal(t.unitPrice),
  flatFee: formatDecimal(t.flatFee),
  amount: formatDecimal(t.amount),
});

const toEventLine = (l: PricedLine): PricedLineObject => ({
  componentId: l.componentId,
  model: l.model,
  description: l.description,
  quantity: formatDecimal(l.quantity),
  amount: formatDecimal(l.amount),
  charged: formatLedgerUnits(l.units),
  tiers: l.tiers.map(toTierPart),
  adjustments: l.adjustments.map((a) => a.id),
  provisional: l.provisional,
  estimated: false,
});

export function toChargePreviewObject(preview: ChargePreview): ChargePreviewObject {
  if (preview.kind === 'event') {
    const r: EventRating = preview.rating;
    return { ruleSet: r.ruleSet, firedRules: r.firedRules, refusal: r.refusal, lines: r.lines.map(toEventLine), amount: formatDecimal(r.amount), charged: formatLedgerUnits(r.units) };
  }
  const r: AggregateRating = preview.rating;
  const lines = r.lines.map((l) => ({
    componentId: l.componentId,
    model: l.model,
    description: l.description,
    quantity: formatDecimal(l.quantity),
    amount: l.amount && formatDecimal(l.amount),
    charged: l.units === null ? null : formatLedgerUnits(l.units),
    tiers: l.tiers.map(toTierPart),
    adjustments: l.adjustments.map((a) => a.id),
    provisional: false,
    estimated: l.estimated,
  }));
  const complete = r.lines.every((l) => l.amount !== null);
  return {
    ruleSet: r.ruleSet,
    firedRules: r.firedRules,
    refusal: r.refusal,
    lines,
    amount: complete ? formatDecimal(r.lines.reduce((s, l) => s.plus(l.amount!), new Decimal(0))) : null,
    charged: complete ? formatLedgerUnits(r.lines.reduce((s, l) => s + l.units!, 0n)) : null,
  };
}
