import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { PageArgs, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { assertCustomerAccess, Role, visibleTo } from '../api-keys/index.js';
import { CustomerObject } from '../customers/index.js';
import { toWalletAutoRechargeObject, WalletAutoRechargeObject } from '../alerts/index.js';
import type { LedgerMoveResult, WalletService } from './wallet.service.js';
import {
  CreateWalletInput,
  CreateWalletPayload,
  GrantCreditsInput,
  GrantCreditsPayload,
  TopUpWalletInput,
  TopUpWalletPayload,
  UpdateWalletInput,
  UpdateWalletPayload,
} from './wallet.inputs.js';
import {
  CreditBlockObject,
  LedgerEntryConnection,
  LedgerEntryObject,
  toCreditBlockObject,
  toLedgerEntryObject,
  toWalletObject,
  WalletConnection,
  WalletObject,
} from './wallet.object.js';
import { formatLedgerUnits } from '../../shared/money/units.js';

/** Held amounts per wallet of a customer (from the reservation store). */
export type HeldAmounts = (customerId: string) => Promise<Map<string, bigint>>;

@Resolver(() => WalletObject)
export class WalletResolver implements NodeSource {
  constructor(
    private readonly service: WalletService,
    private readonly held: HeldAmounts,
  ) {}

  /** Wallets (as wallet(id:) loads them) and their credit blocks as nodes: a customer's own to its credentials. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({ typename: 'Wallet', table: 'wallet', roles: [Role.ADMIN, Role.CUSTOMER], load: (ctx, id) => this.wallet(ctx, id) });
    nodes.register({
      typename: 'CreditBlock',
      table: 'credit_block',
      roles: [Role.ADMIN, Role.CUSTOMER],
      load: async (ctx, id) => {
        const found = visibleTo(ctx.principal, await this.service.block(id));
        return found && toCreditBlockObject(found.block);
      },
    });
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => WalletObject, { nullable: true })
  async wallet(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string): Promise<WalletObject | null> {
    const wallet = visibleTo(ctx.principal, await this.service.find(id));
    return wallet && toWalletObject(wallet, (await this.held(wallet.customerId)).get(wallet.id));
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => WalletConnection, { description: "A customer's wallets, by currency." })
  async wallets(@Ctx() ctx: RequestContext, @Arg('customerId', () => ID) customerId: string, @Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<WalletObject>> {
    assertCustomerAccess(ctx.principal, customerId);
    const page = await this.service.pageForCustomer(customerId, toPageRequest(args));
    const held = await this.held(customerId);
    return toConnection(page, (w) => w.currency, (w) => toWalletObject(w, held.get(w.id)));
  }

  @FieldResolver(() => [CreditBlockObject], { description: 'Blocks in the order debits consume them.' })
  async creditBlocks(
    @Root() wallet: WalletObject,
    @Arg('includeEmpty', () => Boolean, { defaultValue: false }) includeEmpty: boolean,
  ): Promise<CreditBlockObject[]> {
    return (await this.service.blocks(wallet.id, includeEmpty)).map(toCreditBlockObject);
  }

  @FieldResolver(() => WalletAutoRechargeObject, { nullable: true, description: 'Its auto-recharge (setWalletAutoRecharge); null when it has none.' })
  async autoRecharge(@Root() wallet: WalletObject): Promise<WalletAutoRechargeObject | null> {
    const definition = await this.service.autoRecharge(wallet.id);
    return definition && toWalletAutoRechargeObject(definition);
  }

  @FieldResolver(() => LedgerEntryConnection, { description: 'Ledger entries, newest first.' })
  async entries(@Root() wallet: WalletObject, @Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<LedgerEntryObject>> {
    return toConnection(await this.service.entries(wallet.id, toPageRequest(args)), (e) => e.id, toLedgerEntryObject);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateWalletPayload)
  async createWallet(@Arg('input', () => CreateWalletInput) input: CreateWalletInput): Promise<CreateWalletPayload> {
    return { wallet: toWalletObject(await this.service.create(input)) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => UpdateWalletPayload)
  async updateWallet(@Arg('input', () => UpdateWalletInput) input: UpdateWalletInput): Promise<UpdateWalletPayload> {
    return { wallet: toWalletObject(await this.service.update(input)) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => TopUpWalletPayload, { description: 'Adds paid money to a wallet. A retry with the same idempotency key returns the first result.' })
  async topUpWallet(@Arg('input', () => TopUpWalletInput) input: TopUpWalletInput): Promise<TopUpWalletPayload> {
    return this.toMovePayload(await this.service.topUp(input));
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => GrantCreditsPayload, { description: 'Grants credits with a priority and an optional expiry. Idempotent like topUpWallet.' })
  async grantCredits(@Arg('input', () => GrantCreditsInput) input: GrantCreditsInput): Promise<GrantCreditsPayload> {
    const result = await this.service.grant(input);
    const payload = await this.toMovePayload(result);
    const block = (await this.service.blocks(result.walletId, true)).find((b) => b.id === result.creditBlockId)!;
    return { ...payload, creditBlock: toCreditBlockObject(block) };
  }

  private async toMovePayload(result: LedgerMoveResult): Promise<TopUpWalletPayload> {
    const [wallet, entry] = await Promise.all([this.service.get(result.walletId), this.service.entry(result.entryId)]);
    return { wallet: toWalletObject(wallet, (await this.held(wallet.customerId)).get(wallet.id)), entry: toLedgerEntryObject(entry), balanceAfter: formatLedgerUnits(result.balanceAfter), replayed: result.replayed };
  }
}

@Resolver(() => CustomerObject)
export class CustomerWalletsResolver {
  constructor(
    private readonly service: WalletService,
    private readonly held: HeldAmounts,
  ) {}

  @FieldResolver(() => [WalletObject])
  async wallets(@Root() customer: CustomerObject): Promise<WalletObject[]> {
    const held = await this.held(customer.id);
    return (await this.service.listForCustomer(customer.id)).map((w) => toWalletObject(w, held.get(w.id)));
  }
}
