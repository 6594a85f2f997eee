import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { PageArgs, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { ValidationError } from '../../shared/errors.js';
import { AppError, ErrorCode, notFound } from '../../shared/errors.js';
import { assertCustomerAccess, Role, visibleTo } from '../api-keys/index.js';
import { CloseInvoicesInput, CloseInvoicesPayload, VoidInvoiceInput, VoidInvoicePayload } from './invoice.inputs.js';
import { InvoiceConnection, InvoiceObject, toInvoiceObject, toProjection, UpcomingInvoice } from './invoice.object.js';
import type { InvoiceService } from './invoice.service.js';

/** NOT_FOUND as null: `node` answers an invoice it cannot read (not yet on a replica) as an unknown id. */
const nullWhenNotFound = (err: unknown): null => {
  if (err instanceof AppError && err.code === ErrorCode.NOT_FOUND) return null;
  throw err;
};

@Resolver()
export class InvoiceResolver implements NodeSource {
  constructor(private readonly service: InvoiceService) {}

  /** An invoice as a node, loaded and checked as invoice(id:) does; null where that query answers NOT_FOUND. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({
      typename: 'Invoice',
      table: 'invoice',
      roles: [Role.ADMIN, Role.CUSTOMER],
      load: async (ctx, id) => {
        const invoice = visibleTo(ctx.principal, await this.service.get(id).catch(nullWhenNotFound));
        return invoice && toInvoiceObject(invoice);
      },
    });
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => InvoiceConnection, { description: "A customer's invoices, newest period first (void ones included)." })
  async invoices(@Ctx() ctx: RequestContext, @Arg('customerId', () => ID) customerId: string, @Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<InvoiceObject>> {
    assertCustomerAccess(ctx.principal, customerId);
    const req = toPageRequest(args);
    let after: { periodStart: Date; id: string } | null = null;
    if (req.after) {
      const [t, id] = req.after.split('|');
      if (!t || !id || Number.isNaN(Date.parse(t))) throw new ValidationError([{ path: 'after', message: 'is not a cursor returned by this API' }]);
      after = { periodStart: new Date(t), id };
    }
    const page = await this.service.page(customerId, req.first, after);
    return toConnection(page, (i) => `${i.periodStart.toISOString()}|${i.id}`, toInvoiceObject);
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => InvoiceObject)
  async invoice(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string): Promise<InvoiceObject> {
    // Another customer's invoice answers as an unknown id does (NOT_FOUND), not FORBIDDEN.
    const invoice = visibleTo(ctx.principal, await this.service.get(id));
    if (!invoice) throw notFound('invoice', id);
    return toInvoiceObject(invoice);
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => UpcomingInvoice, { nullable: true, description: 'The current period as if it closed now, and projected to its end; null without a subscription.' })
  async upcomingInvoice(@Ctx() ctx: RequestContext, @Arg('customerId', () => ID) customerId: string): Promise<UpcomingInvoice | null> {
    assertCustomerAccess(ctx.principal, customerId);
    const upcoming = await this.service.upcoming(customerId);
    if (!upcoming) return null;
    return { invoice: toInvoiceObject(upcoming.invoice), projected: toProjection(upcoming.projected, upcoming.elapsed.toDecimalPlaces(6).toFixed()) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => VoidInvoicePayload)
  async voidInvoice(@Arg('input', () => VoidInvoiceInput) input: VoidInvoiceInput): Promise<VoidInvoicePayload> {
    const { voided, corrected } = await this.service.void(input);
    return { voided: toInvoiceObject(voided), corrected: corrected && toInvoiceObject(corrected) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CloseInvoicesPayload, { description: 'Closes every due billing period now (what the scheduler and `billing invoices close` do).' })
  async closeInvoices(@Arg('input', () => CloseInvoicesInput, { nullable: true }) input?: CloseInvoicesInput | null): Promise<CloseInvoicesPayload> {
    return this.service.closeDue(input?.at ?? undefined);
  }
}
