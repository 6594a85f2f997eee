import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import { Role } from '../api-keys/index.js';
import { SimulatePricingInput } from './simulation.inputs.js';
import { PricingSimulationObject, toPricingSimulationObject } from './simulation.object.js';
import type { SimulationService } from './simulation.service.js';

@Resolver()
export class SimulationResolver {
  constructor(private readonly simulations: SimulationService) {}

  @Authorized(Role.ADMIN)
  @Query(() => PricingSimulationObject, {
    description: 'Re-rates the events recorded in a window under candidate rule sets, recording nothing: revenue as charged and as the candidate would charge it, per customer, per dimension value and per rule set. One at a time per credential.',
  })
  async simulatePricing(@Ctx() ctx: RequestContext, @Arg('input', () => SimulatePricingInput) input: SimulatePricingInput): Promise<PricingSimulationObject> {
    const { rules, from, to, customers, by } = input;
    return toPricingSimulationObject(await this.simulations.simulateDocuments({ rules: rules.map((r) => ({ file: r.file, content: r.content })), from, to, customers, by }, ctx.principal.keyId));
  }
}
