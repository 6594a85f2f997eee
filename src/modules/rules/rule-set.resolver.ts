import { Arg, Authorized, Query, Resolver } from 'type-graphql';
import { Role } from '../api-keys/index.js';
import type { ChargePreviewService } from './charge-preview.service.js';
import { PreviewChargeInput } from './rule-set.inputs.js';
import { ChargePreviewObject, RuleSetVersionObject, toChargePreviewObject, toRuleSetVersionObject } from './rule-set.object.js';
import type { RuleService } from './rule-set.service.js';

@Resolver()
export class RuleSetResolver {
  constructor(
    private readonly rules: RuleService,
    private readonly previews: ChargePreviewService,
  ) {}

  @Authorized(Role.ADMIN)
  @Query(() => [RuleSetVersionObject], { description: 'Published rule-set versions, and rule files that could not be used, with their errors.' })
  ruleSets(@Arg('key', () => String, { nullable: true }) key?: string | null): RuleSetVersionObject[] {
    return this.rules
      .status()
      .filter((e) => !key || e.key === key)
      .map(toRuleSetVersionObject);
  }

  @Authorized(Role.ADMIN)
  @Query(() => ChargePreviewObject, { description: 'Prices a hypothetical event with the rule set in force, recording nothing.' })
  async previewCharge(@Arg('input', () => PreviewChargeInput) input: PreviewChargeInput): Promise<ChargePreviewObject> {
    return toChargePreviewObject(await this.previews.preview(input));
  }
}
