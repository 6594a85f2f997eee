import { Arg, Args, Authorized, Mutation, Query, Resolver } from 'type-graphql';
import { PageArgs, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { Role } from '../api-keys/index.js';
import { CreateCreditUnitInput, CreateCreditUnitPayload } from './credit-unit.inputs.js';
import { CreditUnitConnection, CreditUnitObject, toCreditUnitObject } from './credit-unit.object.js';
import type { CurrencyService } from './currency.service.js';

@Resolver()
export class CurrencyResolver {
  constructor(private readonly currencies: CurrencyService) {}

  @Authorized(Role.ADMIN)
  @Query(() => CreditUnitConnection, { description: 'The credit units, by code.' })
  async creditUnits(@Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<CreditUnitObject>> {
    return toConnection(await this.currencies.listCreditUnits(toPageRequest(args)), (u) => u.code, toCreditUnitObject);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateCreditUnitPayload)
  async createCreditUnit(@Arg('input', () => CreateCreditUnitInput) input: CreateCreditUnitInput): Promise<CreateCreditUnitPayload> {
    return { creditUnit: toCreditUnitObject(await this.currencies.createCreditUnit(input)) };
  }
}
