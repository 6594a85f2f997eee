import type { Command } from 'commander';
import { ApiKeyService, Role } from '../../modules/api-keys/index.js';
import { CurrencyService } from '../../modules/currencies/index.js';
import { CustomerService } from '../../modules/customers/index.js';
import type { Orm } from '../../db/orm.js';
import { systemClock } from '../../shared/clock.js';
import { withDatabase } from '../runtime.js';

function keyService(orm: Orm): ApiKeyService {
  const customers = new CustomerService(orm, new CurrencyService(orm, systemClock), systemClock);
  return new ApiKeyService(orm, systemClock, (id) => customers.exists(id));
}

/** `billing keys create|list|revoke`. */
export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('manage API keys');

  keys
    .command('create')
    .description('create an API key; its secret is printed as the last line')
    .requiredOption('--role <role>', 'ADMIN, INGEST or CUSTOMER')
    .option('--name <name>', 'a name to recognise the key by', 'created from the command line')
    .option('--customer <id>', 'the customer a CUSTOMER key may read')
    .action(async (opts: { role: string; name: string; customer?: string }) => {
      const role = opts.role.toUpperCase() as Role;
      await withDatabase(async (orm) => {
        const { apiKey, secret } = await keyService(orm).create({ name: opts.name, role, customerId: opts.customer ?? null });
        process.stdout.write(`created ${apiKey.role} key ${apiKey.id} (${apiKey.name})\n${secret}\n`);
      });
    });

  keys
    .command('list')
    .description('list API keys (never their secrets)')
    .action(async () => {
      await withDatabase(async (orm) => {
        const service = keyService(orm);
        let after: string | undefined;
        for (;;) {
          const page = await service.list({ first: 100, after });
          for (const k of page.items) {
            const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
            process.stdout.write(`${k.id}  ${k.role.padEnd(8)}  ${k.prefix}…  ${state}  ${k.name}${k.customerId ? `  customer ${k.customerId}` : ''}\n`);
          }
          if (!page.hasNextPage) break;
          after = page.items.at(-1)!.id;
        }
      });
    });

  keys
    .command('revoke <id>')
    .description('revoke an API key')
    .action(async (id: string) => {
      await withDatabase(async (orm) => {
        const key = await keyService(orm).revoke(id);
        process.stdout.write(`revoked ${key.id} (${key.name})\n`);
      });
    });
}
