import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { Role, visibleTo } from '../api-keys/index.js';
import { toRefusal, toUsageEventObject } from '../usage/index.js';
import {
  AuthorizeUsageInput,
  AuthorizeUsagePayload,
  ReleaseReservationInput,
  ReleaseReservationPayload,
  SettleReservationInput,
  SettleReservationPayload,
} from './reservation.inputs.js';
import { ReservationObject, toReservationObject } from './reservation.object.js';
import type { ReservationService } from './reservation.service.js';

@Resolver()
export class ReservationResolver implements NodeSource {
  constructor(private readonly service: ReservationService) {}

  /** A reservation as a node, loaded as reservation(id:) loads it. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({ typename: 'Reservation', table: 'reservation', roles: [Role.ADMIN, Role.INGEST, Role.CUSTOMER], load: (ctx, id) => this.reservation(ctx, id) });
  }

  @Authorized(Role.ADMIN, Role.INGEST)
  @Mutation(() => AuthorizeUsagePayload, { description: 'Holds an estimate for long work; idempotent on the key.' })
  async authorizeUsage(@Arg('input', () => AuthorizeUsageInput) input: AuthorizeUsageInput): Promise<AuthorizeUsagePayload> {
    const outcome = await this.service.authorize(input);
    if (outcome.kind === 'refused') {
      return { status: 'REFUSED', replayed: false, refusal: toRefusal({ kind: 'refused', code: outcome.code, message: outcome.message, details: outcome.details }), reservation: null };
    }
    return { status: 'AUTHORIZED', replayed: outcome.replay, refusal: null, reservation: toReservationObject(outcome.reservation) };
  }

  @Authorized(Role.ADMIN, Role.INGEST)
  @Mutation(() => SettleReservationPayload, { description: 'Records the actual usage against a reservation and releases the rest; idempotent on the key.' })
  async settleReservation(@Arg('input', () => SettleReservationInput) input: SettleReservationInput): Promise<SettleReservationPayload> {
    const { outcome, reservation } = await this.service.settle(input);
    if (outcome.kind === 'error') throw outcome.error;
    return {
      status: outcome.kind === 'accepted' ? 'ACCEPTED' : 'REFUSED',
      replayed: outcome.kind === 'accepted' && outcome.replay,
      refusal: toRefusal(outcome),
      event: outcome.kind === 'accepted' ? toUsageEventObject(outcome.event) : null,
      reservation: toReservationObject(reservation),
    };
  }

  @Authorized(Role.ADMIN, Role.INGEST)
  @Mutation(() => ReleaseReservationPayload, { description: 'Cancels a reservation; releasing one already released or expired returns it unchanged.' })
  async releaseReservation(@Arg('input', () => ReleaseReservationInput) input: ReleaseReservationInput): Promise<ReleaseReservationPayload> {
    return { reservation: toReservationObject(await this.service.release(input.reservationId)) };
  }

  @Authorized(Role.ADMIN, Role.INGEST, Role.CUSTOMER)
  @Query(() => ReservationObject, { nullable: true })
  async reservation(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string): Promise<ReservationObject | null> {
    const r = visibleTo(ctx.principal, await this.service.get(id));
    return r && toReservationObject(r);
  }
}
