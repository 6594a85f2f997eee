import { Arg, Authorized, Mutation, Query, Resolver } from 'type-graphql';
import { Role } from '../api-keys/index.js';
import { CreateCreditUnitInput, CreateCreditUnitPayload } from './credit-unit.inputs.js';
import { CreditUnitObject, toCreditUnitObject } from './credit-unit.object.js';
import type { CurrencyService } from './currency.service.js';

@Resolver()
export class CurrencyResolver {
  constructor(private readonly currencies: CurrencyService) {}

  @Authorized(Role.ADMIN)
  @Query(() => [CreditUnitObject])
  async creditUnits(): Promise<CreditUnitObject[]> {
    return (await this.currencies.listCreditUnits()).map(toCreditUnitObject);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateCreditUnitPayload)
  async createCreditUnit(@Arg('input', () => CreateCreditUnitInput) input: CreateCreditUnitInput): Promise<CreateCreditUnitPayload> {
    return { creditUnit: toCreditUnitObject(await this.currencies.createCreditUnit(input)) };
  }
}
