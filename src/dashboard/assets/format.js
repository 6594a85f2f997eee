// Display formatting. Amounts arrive as decimal strings and are handed to Intl as strings, which
// formats them exactly (no float round trip); only the chart turns them into numbers, for pixels.

const formatters = new Map();

function formatterFor(currency, digits) {
  const key = `${currency}|${digits ?? ''}`;
  let f = formatters.get(key);
  if (!f) {
    const extra = digits === undefined ? {} : { minimumFractionDigits: 2, maximumFractionDigits: digits };
    try {
      f = new Intl.NumberFormat(undefined, { style: 'currency', currency, ...extra });
    } catch {
      // A credit unit rather than an ISO 4217 currency: a plain number and the unit's code.
      const plain = new Intl.NumberFormat(undefined, { maximumFractionDigits: digits ?? 4 });
      f = { format: (value) => `${plain.format(value)} ${currency}` };
    }
    formatters.set(key, f);
  }
  return f;
}

/** "1234.5" in USD -> "$1,234.50". digits widens the fraction (for small per-token amounts). */
export function money(amount, currency, digits) {
  if (amount === null || amount === undefined) return '—';
  return formatterFor(currency, digits).format(String(amount));
}

const quantityFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });

/** A quantity such as tokens or images, grouped. */
export function quantity(value) {
  return value === null || value === undefined ? '—' : quantityFormat.format(String(value));
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** An instant -> its date, in the given time zone (the browser's when absent or unknown). */
export function date(iso, timeZone) {
  if (!iso) return '—';
  try {
    return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone }).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(new Date(iso));
  }
}
export const dateTime = (iso) => (iso ? dateTimeFormat.format(new Date(iso)) : '—');
/** A period [start, end) as its first and last days, "Nov 1 – 30, 2026", in the given time zone. */
export function dateRange(start, end, timeZone) {
  const last = new Date(Date.parse(end) - 1);
  try {
    return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone }).formatRange(new Date(start), last);
  } catch {
    return `${date(start, timeZone)} – ${date(last.toISOString(), timeZone)}`;
  }
}

/** An instant -> its day in the given time zone, "Nov 22". */
export function day(iso, timeZone) {
  try {
    return new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone }).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' }).format(new Date(iso));
  }
}

/** Creates an element with text content and attributes; children may be nodes or strings. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const SCALE = 9;

/** Adds decimal strings exactly (at 1e-9, the ledger's scale); the API's amounts fit it. */
export function addDecimals(...values) {
  let units = 0n;
  for (const value of values) {
    const [, sign, whole, fraction = ''] = /^(-?)(\d*)(?:\.(\d*))?$/.exec(String(value ?? '0')) ?? [, '', '0'];
    const n = BigInt(`${whole || '0'}${fraction.slice(0, SCALE).padEnd(SCALE, '0')}`);
    units += sign ? -n : n;
  }
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(SCALE + 1, '0');
  const fraction = digits.slice(-SCALE).replace(/0+$/, '');
  return `${negative ? '-' : ''}${digits.slice(0, -SCALE)}${fraction ? `.${fraction}` : ''}`;
}
