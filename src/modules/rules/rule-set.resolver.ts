import { Arg, Args, Authorized, Query, Resolver } from 'type-graphql';
import { PageArgs, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { Role } from '../api-keys/index.js';
import type { ChargePreviewService } from './charge-preview.service.js';
import { PreviewChargeInput } from './rule-set.inputs.js';
import { ChargePreviewObject, RuleSetVersionConnection, type RuleSetVersionObject, toChargePreviewObject, toRuleSetVersionObject } from './rule-set.object.js';
import { ruleSetEntryKey, type RuleService } from './rule-set.service.js';

@Resolver()
export class RuleSetResolver {
  constructor(
    private readonly rules: RuleService,
    private readonly previews: ChargePreviewService,
  ) {}

  @Authorized(Role.ADMIN)
  @Query(() => RuleSetVersionConnection, {
    description: 'Published rule-set versions by key and version, then rule files that could not be used, by file name, with their errors.',
  })
  ruleSets(@Arg('key', () => String, { nullable: true }) key: string | null | undefined, @Args(() => PageArgs) args: PageArgs): ConnectionShape<RuleSetVersionObject> {
    return toConnection(this.rules.statusPage(key ?? null, toPageRequest(args)), ruleSetEntryKey, toRuleSetVersionObject);
  }

  @Authorized(Role.ADMIN)
  @Query(() => ChargePreviewObject, { description: 'Prices a hypothetical event with the rule set in force, recording nothing.' })
  async previewCharge(@Arg('input', () => PreviewChargeInput) input: PreviewChargeInput): Promise<ChargePreviewObject> {
    return toChargePreviewObject(await this.previews.preview(input));
  }
}
