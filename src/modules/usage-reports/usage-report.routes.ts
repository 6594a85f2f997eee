import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { Limits } from '../../config/config.js';
import { checkCost, usageExportCost } from '../../graphql/operation-limits.js';
import type { RateLimits } from '../../graphql/rate-limits.js';
import type { ReadGate } from '../../graphql/read-gate.js';
import { sendJson, type Route } from '../../http/router.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import { assertCustomerAccess, Role } from '../api-keys/index.js';
import type { Credentials } from '../customer-tokens/index.js';
import { exportHeader, exportRows, parseExportQuery } from './usage-export.pure.js';
import type { UsageReportService } from './usage-report.service.js';

function sendError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void {
  sendJson(res, status, { errors: [{ message, extensions: { code, ...extra } }] }, headers);
}

/**
 * `GET /v1/usage/export`: a customer's usage as CSV (RFC 4180: CRLF line ends, quoted fields
 * where needed, a header row), the same figures as the `usage` query, for the dashboard's
 * download and for integrators' own exports. Authorised like that query: an ADMIN key, or a
 * CUSTOMER key or customer token for its own customer; the same per-operation cost limit, read
 * budget and read gate (the gate is held until the last row is sent). Query parameters: see
 * parseExportQuery. Rows are written one by one as the response drains (csv-stringify's
 * stream), never joined into one file in memory; the report they come from is bounded by the
 * usage query's 1,000 buckets.
 *
 * 200 with text/csv; 400 (VALIDATION_FAILED, QUERY_TOO_COMPLEX), 401, 403, 404 (NOT_FOUND) and
 * 429 (RATE_LIMITED, Retry-After) as JSON errors like the API's, before any row is sent.
 */
export function usageReportRoutes(deps: {
  reports: UsageReportService;
  credentials: Credentials;
  rates: RateLimits;
  reads: ReadGate;
  limits: Limits;
  /** Display names of meters, by code. */
  meterNames: (codes: string[]) => Promise<Map<string, string>>;
}): Route[] {
  return [
    {
      name: 'usage-export',
      path: '/v1/usage/export',
      methods: ['GET'],
      handle: async ({ req, res, url }) => {
        let release: (() => void) | undefined;
        try {
          const principal = await deps.credentials.authenticate(req.headers.authorization);
          if (principal.role !== Role.ADMIN && principal.role !== Role.CUSTOMER) throw new AppError(ErrorCode.FORBIDDEN, 'this key may not read customer data');
          const cmd = parseExportQuery(url.searchParams, principal.role === Role.CUSTOMER ? principal.customerId : null);
          assertCustomerAccess(principal, cmd.customerId);
          const cost = usageExportCost({ from: cmd.from, to: cmd.to, granularity: cmd.granularity, groupBy: { meter: cmd.groupByMeter, dimensions: cmd.dimensions } });
          try {
            checkCost(cost, principal, deps.limits);
          } catch (err) {
            throw new AppError(ErrorCode.QUERY_TOO_COMPLEX, (err as Error).message, { cost });
          }
          await deps.rates.consume(principal, 'read', cost);
          release = await deps.reads.enter();
          const report = await deps.reports.usage(cmd);
          const names = cmd.groupByMeter ? await deps.meterNames([...new Set(report.buckets.flatMap((b) => b.groups.map((g) => g.meterCode!)))]) : new Map<string, string>();
          const day = (d: Date) => d.toISOString().slice(0, 10);
          res.writeHead(200, {
            'content-type': 'text/csv; charset=utf-8; header=present',
            'content-disposition': `attachment; filename="usage-${day(cmd.from)}-${day(cmd.to)}.csv"`,
            'cache-control': 'no-store',
            'x-content-type-options': 'nosniff',
          });
          const rows = Readable.from(
            (function* () {
              yield exportHeader(cmd);
              yield* exportRows(report, cmd, names);
            })(),
          );
          // A client that goes away ends the pipeline; there is nobody left to answer.
          await pipeline(rows, stringify({ record_delimiter: 'windows', quoted_match: /^\s|\s$/ }), res).catch(() => undefined);
        } catch (err) {
          if (res.headersSent) throw err;
          if (!(err instanceof AppError)) throw err;
          const retryAfter = err.details.retryAfterSeconds;
          const headers: Record<string, string> = typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {};
          const fields = err.details.fields;
          const status = err.httpStatus ?? (err.code === ErrorCode.NOT_FOUND ? 404 : 400);
          sendError(res, status, err.code, err.message, fields ? { fields } : {}, headers);
        } finally {
          release?.();
        }
      },
    },
  ];
}
