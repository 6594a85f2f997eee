/**
 * ISO 4217 currencies in use, with their minor-unit exponent (the number of decimals an
 * invoice amount is rounded to). Credit units are registered at run time and carry their own.
 */
const TWO_DECIMALS =
  'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CNY ' +
  'COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS ' +
  'INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN ' +
  'NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP ' +
  'STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWL';
const ZERO_DECIMALS = 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF';
const THREE_DECIMALS = 'BHD IQD JOD KWD LYD OMR TND';
const FOUR_DECIMALS = 'CLF UYW';

const exponents = new Map<string, number>();
for (const [list, exponent] of [
  [TWO_DECIMALS, 2],
  [ZERO_DECIMALS, 0],
  [THREE_DECIMALS, 3],
  [FOUR_DECIMALS, 4],
] as const) {
  for (const code of list.split(' ')) exponents.set(code, exponent);
}

/** The exponent of an ISO 4217 currency, or undefined when the code is not one. */
export function isoCurrencyExponent(code: string): number | undefined {
  return exponents.get(code);
}

export const isIsoCurrency = (code: string): boolean => exponents.has(code);

/** Credit unit codes: upper-case letters, digits and "_", 4-32 long, so they never look like ISO codes. */
export const CREDIT_UNIT_PATTERN = /^[A-Z][A-Z0-9_]{3,31}$/;
