import type { Command } from 'commander';
import { SqlPool } from '../../db/sql.js';
import { CurrencyService } from '../../modules/currencies/index.js';
import { CustomerService } from '../../modules/customers/index.js';
import { InvoiceRepository, InvoiceService } from '../../modules/invoices/index.js';
import { STRIPE } from '../../modules/payments/index.js';
import { MeterService } from '../../modules/meters/index.js';
import { PlanService } from '../../modules/plans/index.js';
import { RuleService } from '../../modules/rules/index.js';
import { TaxRateService } from '../../modules/taxes/index.js';
import { systemClock } from '../../shared/clock.js';
import { withDatabase } from '../runtime.js';

/** `billing invoices close [--at <iso>]`: closes due billing periods, like the in-service scheduler. */
export function registerInvoiceCommands(program: Command): void {
  const invoices = program.command('invoices').description('billing periods and invoices');
  invoices
    .command('close')
    .description('close every billing period that ended by --at (default: now); safe to run concurrently and to rerun')
    .option('--at <iso>', 'close as of this instant (ISO 8601)')
    .action(async (opts: { at?: string }) => {
      const at = opts.at === undefined ? new Date() : new Date(opts.at);
      if (Number.isNaN(at.getTime())) {
        process.stderr.write(`--at: ${JSON.stringify(opts.at)} is not an ISO 8601 instant\n`);
        process.exitCode = 2;
        return;
      }
      await withDatabase(async (orm, config, logger, databaseUrl) => {
        const sql = new SqlPool(databaseUrl, config.invoices.closeConcurrency + 1);
        const rules = new RuleService(sql, systemClock, logger, { ...config.rules, watch: false, refreshMs: 0 });
        try {
          await rules.start();
          const currencies = new CurrencyService(orm, systemClock);
          const customers = new CustomerService(orm, currencies, systemClock);
          const plans = new PlanService(orm, new MeterService(orm, systemClock), currencies, systemClock);
          const service = new InvoiceService(new InvoiceRepository(sql), customers, plans, rules, currencies, new TaxRateService(sql, systemClock), systemClock, config.invoices, logger);
          // As the service does: with Stripe configured, its customers' invoices are due for a first attempt once finalized.
          if (config.stripe) service.collectWith([STRIPE]);
          const report = await service.closeDue(at);
          process.stdout.write(`${report.customers} customer(s), ${report.drafted} draft(s) updated, ${report.finalized.length} invoice(s) finalized, ${report.failed} failed\n`);
          if (report.failed > 0) process.exitCode = 1;
        } finally {
          rules.stop();
          await sql.close();
        }
      });
    });
}
