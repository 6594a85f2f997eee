import { Arg, Authorized, Mutation, Query, Resolver } from 'type-graphql';
import { Role } from '../api-keys/index.js';
import { CreateTaxRateInput, CreateTaxRatePayload } from './tax-rate.inputs.js';
import { TaxRateObject, toTaxRateObject } from './tax-rate.object.js';
import type { TaxRateService } from './tax-rate.service.js';

@Resolver()
export class TaxRateResolver {
  constructor(private readonly service: TaxRateService) {}

  @Authorized(Role.ADMIN)
  @Query(() => [TaxRateObject])
  async taxRates(): Promise<TaxRateObject[]> {
    return (await this.service.list()).map(toTaxRateObject);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateTaxRatePayload)
  async createTaxRate(@Arg('input', () => CreateTaxRateInput) input: CreateTaxRateInput): Promise<CreateTaxRatePayload> {
    return { taxRate: toTaxRateObject(await this.service.create(input)) };
  }
}
