import { Arg, Args, Authorized, Mutation, Query, Resolver } from 'type-graphql';
import { PageArgs, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { Role } from '../api-keys/index.js';
import { CreateTaxRateInput, CreateTaxRatePayload } from './tax-rate.inputs.js';
import { TaxRateConnection, type TaxRateObject, toTaxRateObject } from './tax-rate.object.js';
import type { TaxRateService } from './tax-rate.service.js';

@Resolver()
export class TaxRateResolver {
  constructor(private readonly service: TaxRateService) {}

  @Authorized(Role.ADMIN)
  @Query(() => TaxRateConnection, { description: 'The tax rates, by code.' })
  async taxRates(@Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<TaxRateObject>> {
    return toConnection(await this.service.list(toPageRequest(args)), (r) => r.code, toTaxRateObject);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateTaxRatePayload)
  async createTaxRate(@Arg('input', () => CreateTaxRateInput) input: CreateTaxRateInput): Promise<CreateTaxRatePayload> {
    return { taxRate: toTaxRateObject(await this.service.create(input)) };
  }
}
