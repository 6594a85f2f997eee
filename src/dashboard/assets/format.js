// Display formatting. Amounts arrive as decimal strings and are handed to Intl as strings, which
// formats them exactly (no float round trip); only the chart turns them into numbers, for pixels.
// Every date and time is shown in the customer's time zone (set once the customer is known).

let zone;

/** The time zone every date and time is shown in: the customer's (the browser's until it is known or if unknown). */
export function setTimeZone(timeZone) {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone });
    zone = timeZone;
  } catch {
    zone = undefined;
  }
}

const formatters = new Map();

/** The currency's own fraction digits (2 for USD, 0 for JPY); 4 for a credit unit. */
function currencyDigits(currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 4;
  }
}

function formatterFor(currency, min, max) {
  const key = `${currency}|${min}|${max}`;
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.NumberFormat(undefined, { style: 'currency', currency, minimumFractionDigits: min, maximumFractionDigits: max });
    } catch {
      // A credit unit rather than an ISO 4217 currency: a plain number and the unit's code.
      const plain = new Intl.NumberFormat(undefined, { minimumFractionDigits: min, maximumFractionDigits: max });
      f = { format: (value) => `${plain.format(value)} ${currency}` };
    }
    formatters.set(key, f);
  }
  return f;
}

/** Leading zeros after the decimal point of a decimal string whose whole part is zero; null otherwise (or for zero). */
function leadingFractionZeros(amount) {
  const m = /^-?0*\.(0*)([1-9])/.exec(amount);
  return m ? m[1].length : null;
}

/**
 * The one money format: "1234.5" in USD -> "$1,234.50", at the currency's precision. An amount
 * that is not zero but below the smallest unit of the currency (a cent) gets the places it needs,
 * with up to three significant digits ("$0.00025"), instead of showing as "$0.00".
 */
export function money(amount, currency) {
  if (amount === null || amount === undefined) return '—';
  const text = String(amount);
  const digits = currencyDigits(currency);
  const zeros = leadingFractionZeros(text);
  if (zeros !== null && zeros >= digits) return formatterFor(currency, digits, Math.min(9, zeros + 3)).format(text);
  return formatterFor(currency, digits, digits).format(text);
}

const quantityFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });

/** A quantity such as tokens or images, grouped. */
export function quantity(value) {
  return value === null || value === undefined ? '—' : quantityFormat.format(String(value));
}

/** Intl with the customer's zone; the browser's if the engine does not know it. */
function zoned(options) {
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: zone });
  } catch {
    return new Intl.DateTimeFormat(undefined, options);
  }
}

/** An instant -> its date. */
export const date = (iso) => (iso ? zoned({ dateStyle: 'medium' }).format(new Date(iso)) : '—');
/** An instant -> its date and time. */
export const dateTime = (iso) => (iso ? zoned({ dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)) : '—');
/** A period [start, end) as its first and last days, "Nov 1 – 30, 2026". */
export function dateRange(start, end) {
  return zoned({ dateStyle: 'medium' }).formatRange(new Date(start), new Date(Date.parse(end) - 1));
}

/** An instant -> its day, "Nov 22". */
export const day = (iso) => zoned({ month: 'short', day: 'numeric' }).format(new Date(iso));
/** An instant -> its hour, "Nov 22, 14:00". */
export const hour = (iso) => zoned({ month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
/** An instant -> its month, "Nov 2026". */
export const month = (iso) => zoned({ month: 'short', year: 'numeric' }).format(new Date(iso));

/** The local calendar day of an instant, "2026-11-22", in the customer's zone. */
export function localDay(at) {
  const parts = Object.fromEntries(zoned({ year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/**
 * The instant a local day starts in the customer's zone ("2026-11-22" -> its midnight there): a
 * first guess from the zone's offset at UTC midnight, corrected once for a change of offset.
 */
export function startOfLocalDay(text) {
  const [y, m, d] = text.split('-').map(Number);
  const utc = Date.UTC(y, m - 1, d);
  const offset = (at) => {
    const p = Object.fromEntries(zoned({ year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' }).formatToParts(new Date(at)).map((x) => [x.type, Number(x.value)]));
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(at / 1000) * 1000;
  };
  const guess = utc - offset(utc);
  return new Date(utc - offset(guess));
}

/** A dimension key as words: "tokenType" -> "Token type", "api_key" -> "Api key". */
export function dimensionLabel(key) {
  const words = key.replace(/[_-]+/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
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

/** Compares decimal strings exactly: -1, 0 or 1. */
export function compareDecimals(a, b) {
  const text = String(b);
  const diff = addDecimals(a, text.startsWith('-') ? text.slice(1) : `-${text}`);
  return diff.startsWith('-') ? -1 : diff === '0' ? 0 : 1;
}
