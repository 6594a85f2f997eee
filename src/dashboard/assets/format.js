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

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });

export const date = (iso) => (iso ? dateFormat.format(new Date(iso)) : '—');
export const dateTime = (iso) => (iso ? dateTimeFormat.format(new Date(iso)) : '—');
/** A calendar day "2026-11-22" (or a timestamp at its start) -> "Nov 22". */
export const day = (value) => dayFormat.format(new Date(`${String(value).slice(0, 10)}T00:00:00Z`));

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
