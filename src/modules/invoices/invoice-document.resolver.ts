import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import { notFound } from '../../shared/errors.js';
import { Role, visibleTo } from '../api-keys/index.js';
import { InvoiceLinkObject } from './invoice-document.object.js';
import type { InvoiceDocumentService } from './invoice-document.service.js';

@Resolver()
export class InvoiceDocumentResolver {
  constructor(private readonly documents: InvoiceDocumentService) {}

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => InvoiceLinkObject, {
    description: "Signed links to an invoice's page and PDF that open without an Authorization header until they expire (anyone holding one can read that invoice).",
  })
  async invoiceLink(
    @Ctx() ctx: RequestContext,
    @Arg('invoiceId', () => ID) invoiceId: string,
    @Arg('expiresInSeconds', () => Int, { nullable: true, description: 'Lifetime, 60 s to 30 days; 7 days when absent.' }) expiresInSeconds?: number | null,
  ): Promise<InvoiceLinkObject> {
    // Another customer's invoice answers as an unknown id does (NOT_FOUND).
    const invoice = visibleTo(ctx.principal, await this.documents.get(invoiceId));
    if (!invoice) throw notFound('invoice', invoiceId);
    return this.documents.links(invoice, expiresInSeconds);
  }
}
