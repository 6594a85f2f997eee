import { Decimal } from '../../shared/money/decimal.js';
import { ValidationError } from '../../shared/errors.js';
import { Checker } from '../../shared/validation.js';
import type { Meter } from '../meters/index.js';
import type { RecordUsageCommand } from './usage-prepare.service.js';

/**
 * Usage events as CloudEvents (JSON format, spec 1.0), the form OpenMeter ingests, for
 * `POST /v1/events`. One CloudEvent is one usage event:
 *
 *   specversion  "1.0"
 *   id, source   the idempotency key is "<source>#<id>" (CloudEvents: source and id identify an event)
 *   type         the meter code
 *   subject      the customer's external id
 *   time         when the usage happened (RFC 3339; now when absent)
 *   data         an object: the meter's property is the quantity (SUM, MAX, LATEST meters, and
 *                a RECURRING meter's new level; a COUNT meter counts the event and a UNIQUE_COUNT
 *                meter the property's distinct values, as a dimension), the meter's dimensions
 *                are the dimensions, and any other
 *                numeric member is a value the rules may read. Numbers are taken only when they
 *                are exact as JSON numbers (at most 15 significant digits); send decimal strings
 *                otherwise.
 *
 * Problems are reported with the CloudEvent's own paths (`id`, `data.tokens`).
 */

const EXACT_NUMBER_DIGITS = 15;
const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** A JSON number or decimal string as exact decimal text, or a problem. */
function decimalText(value: unknown): { text: string } | { problem: string } {
  if (typeof value === 'string') return DECIMAL.test(value) ? { text: value } : { problem: 'must be a decimal number or string' };
  if (typeof value !== 'number' || !Number.isFinite(value)) return { problem: 'must be a decimal number or string' };
  const text = String(value);
  if (/e/i.test(text) || text.replace(/^-|\./g, '').replace(/^0+/, '').length > EXACT_NUMBER_DIGITS) {
    return { problem: `is not exact as a JSON number (more than ${EXACT_NUMBER_DIGITS} significant digits); send it as a decimal string` };
  }
  return { text };
}

/** The envelope's meter code (its `type`), checked; the meter is looked up by the caller. */
export function cloudEventType(event: unknown): string {
  const check = new Checker();
  if (!event || typeof event !== 'object' || Array.isArray(event)) check.fail('', 'must be a CloudEvent (a JSON object)');
  check.done();
  const type = (event as Record<string, unknown>).type;
  check.text('type', typeof type === 'string' ? type : type === undefined ? undefined : String(type), { max: 64, required: true });
  if (type !== undefined && typeof type !== 'string') check.fail('type', 'must be a string (the meter code)');
  check.done();
  return type as string;
}

/** A CloudEvent as the usage command it stands for; throws VALIDATION_FAILED naming each problem. */
export function cloudEventCommand(event: Record<string, unknown>, meter: Meter): RecordUsageCommand {
  const check = new Checker();
  const str = (name: string, required: boolean): string | undefined => {
    const v = event[name];
    if (v === undefined || v === null) return required ? check.fail(name, 'is required') : undefined;
    if (typeof v !== 'string' || v.length === 0) return check.fail(name, 'must be a non-empty string');
    return v;
  };
  const spec = str('specversion', true);
  if (spec !== undefined && spec !== '1.0') check.fail('specversion', 'must be "1.0"');
  const id = str('id', true);
  const source = str('source', true);
  const subject = str('subject', true);
  const time = str('time', false);
  let timestamp: Date | null = null;
  if (time !== undefined) {
    const t = Date.parse(time);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(time) || !Number.isFinite(t)) check.fail('time', 'must be an RFC 3339 timestamp');
    else timestamp = new Date(t);
  }
  const data = event.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data) || data === null) check.fail('data', 'must be a JSON object');
  const members = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  const counts = meter.aggregation === 'COUNT' || meter.aggregation === 'UNIQUE_COUNT';
  let quantity: Decimal | null = null;
  if (!counts && meter.property) {
    const q = members[meter.property];
    if (q === undefined || q === null) check.fail(`data.${meter.property}`, `is required: meter ${meter.code} measures it`);
    else {
      const parsed = decimalText(q);
      if ('problem' in parsed) check.fail(`data.${meter.property}`, parsed.problem);
      else quantity = new Decimal(parsed.text);
    }
  } else if (!counts) {
    quantity = new Decimal(1);
  }
  const dimensionKeys = new Set(meter.dimensions);
  if (meter.aggregation === 'UNIQUE_COUNT' && meter.property) dimensionKeys.add(meter.property);
  const dimensions: Record<string, string> = Object.create(null);
  const values: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(members)) {
    if (dimensionKeys.has(k)) {
      if (typeof v === 'string') dimensions[k] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') dimensions[k] = String(v);
      else if (v !== null) check.fail(`data.${k}`, 'must be a string (a dimension of the meter)');
    } else if (k !== meter.property && v !== null && (typeof v === 'number' || (typeof v === 'string' && DECIMAL.test(v)))) {
      const parsed = decimalText(v);
      if ('problem' in parsed) check.fail(`data.${k}`, parsed.problem);
      else values[k] = parsed.text;
    }
  }
  check.done();
  const key = `${source}#${id}`;
  if (key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    check.fail('id', 'source and id together must be at most 254 printable ASCII characters without spaces (they are the idempotency key)');
    check.done();
  }
  return { externalCustomerId: subject!, meterCode: meter.code, quantity, timestamp, dimensions, values, idempotencyKey: key };
}

/** A usage command's problems under the CloudEvent's names (`quantity` is `data.<property>`, `dimensions.x` is `data.x`). */
export function cloudEventProblems(err: ValidationError, meter: Meter): ValidationError {
  const rename = (path: string): string => {
    if (path === 'quantity') return `data.${meter.property ?? 'quantity'}`;
    if (path.startsWith('dimensions.') || path.startsWith('values.')) return `data.${path.slice(path.indexOf('.') + 1)}`;
    if (path === 'dimensions' || path === 'values') return 'data';
    return { idempotencyKey: 'id', externalCustomerId: 'subject', customerId: 'subject', timestamp: 'time', meterCode: 'type' }[path] ?? path;
  };
  return new ValidationError(err.problems.map((p) => ({ ...p, path: rename(p.path) })));
}
