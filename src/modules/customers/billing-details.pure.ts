import { Checker } from '../../shared/validation.js';
import { COUNTRY_CODES } from './country-codes.pure.js';

/** A postal address as invoices print it. */
export interface PostalAddress {
  line1: string;
  line2: string | null;
  city: string;
  postalCode: string | null;
  /** State, province or county, where the country uses one. */
  region: string | null;
  /** ISO 3166-1 alpha-2, upper case. */
  country: string;
}

/** Who an invoice is addressed to: the customer's legal entity, not its display name. */
export interface BillingDetails {
  legalName: string;
  email: string | null;
  address: PostalAddress | null;
  taxId: string | null;
}

/** What a caller sends; every field may be missing or null. */
export interface BillingDetailsInput {
  legalName?: string | null;
  email?: string | null;
  address?: { line1?: string | null; line2?: string | null; city?: string | null; postalCode?: string | null; region?: string | null; country?: string | null } | null;
  taxId?: string | null;
}

/** Payment terms a customer may have, in days after finalization. */
export const PAYMENT_TERMS_DAYS = { min: 0, max: 365 } as const;

const LINE = { max: 200 };
const TAX_ID = { max: 64, pattern: /^[A-Za-z0-9][A-Za-z0-9 .\/-]*$/, hint: 'must be letters, digits, spaces, ".", "/" or "-", starting with a letter or digit' };

/**
 * Checks billing details, each problem at its own path (`billingDetails.address.country`).
 * Returns null for null (clear them), undefined when absent or invalid.
 */
export function checkBillingDetails(check: Checker, path: string, value: BillingDetailsInput | null | undefined): BillingDetails | null | undefined {
  if (value === null) return null;
  if (value === undefined) return undefined;
  const legalName = check.text(`${path}.legalName`, value.legalName, { max: 200, required: true });
  const email = check.email(`${path}.email`, value.email) ?? null;
  const taxId = check.text(`${path}.taxId`, value.taxId, TAX_ID) ?? null;
  const address = value.address ? checkAddress(check, `${path}.address`, value.address) : null;
  return legalName === undefined || address === undefined ? undefined : { legalName, email, address, taxId };
}

function checkAddress(check: Checker, path: string, a: NonNullable<BillingDetailsInput['address']>): PostalAddress | undefined {
  const line1 = check.text(`${path}.line1`, a.line1, { ...LINE, required: true });
  const line2 = check.text(`${path}.line2`, a.line2, LINE) ?? null;
  const city = check.text(`${path}.city`, a.city, { ...LINE, required: true });
  const postalCode = check.text(`${path}.postalCode`, a.postalCode, { max: 20 }) ?? null;
  const region = check.text(`${path}.region`, a.region, { max: 100 }) ?? null;
  const country = checkCountry(check, `${path}.country`, a.country);
  if (line1 === undefined || city === undefined || country === undefined) return undefined;
  return { line1, line2, city, postalCode, region, country };
}

function checkCountry(check: Checker, path: string, value: string | null | undefined): string | undefined {
  const code = check.text(path, value, { max: 64, required: true, pattern: /^[A-Za-z]{2}$/, hint: 'must be an ISO 3166-1 alpha-2 country code such as "DE"' });
  if (code === undefined) return undefined;
  const upper = code.toUpperCase();
  if (!COUNTRY_CODES.has(upper)) return check.fail(path, `${JSON.stringify(code)} is not an ISO 3166-1 alpha-2 country code`);
  return upper;
}
