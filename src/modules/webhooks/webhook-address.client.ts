import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where webhooks may connect: the guard against server-side request forgery. An endpoint URL is
 * checked when it is registered, and again at every connection, on the very addresses the
 * socket then connects to, so a name re-pointed after registration (DNS rebinding) reaches
 * nothing internal either.
 */

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Every address a host name has; a test passes its own. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** getaddrinfo, as sockets use it (hosts file included), in the resolver's order. */
export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Ranges WEBHOOK_ALLOW_PRIVATE_NETWORKS opens, for receivers on premises. */
const PRIVATE_RANGES = new Set(['loopback', 'private', 'uniqueLocal', 'carrierGradeNat']);

/**
 * Cloud instance-metadata services, which hand out credentials: refused even when private
 * networks are allowed (169.254.169.254 and the rest of link-local always are).
 * fd00:ec2::254 is AWS over IPv6 (inside fc00::/7), 100.100.100.200 Alibaba (inside 100.64/10).
 */
const METADATA_ADDRESSES = new Set(['fd00:ec2::254', '100.100.100.200']);

/** Only 2000::/3 is global unicast; ipaddr.js calls the deprecated ::/96 (::7f00:1) unicast too. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number];

/**
 * True when a webhook may connect to this IP address: a global unicast one, or, with private
 * networks allowed, also loopback, RFC 1918, unique-local or carrier-grade NAT. IPv4-mapped IPv6
 * addresses (::ffff:127.0.0.1) are judged as the IPv4 address they carry. Anything that does not
 * parse is refused.
 */
export function isAllowedAddress(address: string, allowPrivateNetworks: boolean): boolean {
  if (!ipaddr.isValid(address)) return false;
  const ip = ipaddr.process(address);
  // toString() is the canonical form (RFC 5952 for IPv6), as the set spells them.
  if (METADATA_ADDRESSES.has(ip.toString())) return false;
  const range = ip.range();
  if (allowPrivateNetworks && PRIVATE_RANGES.has(range)) return true;
  if (range !== 'unicast') return false;
  return ip.kind() === 'ipv4' || (ip as ipaddr.IPv6).match(GLOBAL_UNICAST_V6);
}

/** The host of a URL as sockets see it: IPv6 literals lose their brackets. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** The error code of a connection refused by this guard. */
export const ADDRESS_REFUSED = 'WEBHOOK_ADDRESS_REFUSED';

/** Thrown (as a connection error) when a webhook would reach an address it may not. */
export class AddressRefusedError extends Error {
  readonly code = ADDRESS_REFUSED;
  constructor(host: string) {
    super(`webhook host ${host} is not a public address`);
    this.name = 'AddressRefusedError';
  }
}

/**
 * The addresses a webhook may connect to for a host: an IP literal is its own address, a name is
 * resolved. Refused (AddressRefusedError) when any address is not allowed, not just all: the
 * socket may pick any of them.
 */
export async function allowedAddresses(host: string, allowPrivateNetworks: boolean, resolve: Resolver = systemResolver): Promise<ResolvedAddress[]> {
  const family = isIP(host);
  const addresses = family ? [{ address: host, family }] : await resolve(host);
  if (addresses.length === 0 || addresses.some((a) => !isAllowedAddress(a.address, allowPrivateNetworks))) throw new AddressRefusedError(host);
  return addresses;
}

/**
 * A `lookup` for net/http/https that connects only to allowed addresses: it resolves once,
 * checks, and hands the socket exactly the addresses it checked, so nothing resolves the name
 * a second time. Node skips `lookup` for IP-literal hosts: check those with allowedAddresses
 * before connecting.
 */
export function guardedLookup(allowPrivateNetworks: boolean, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    allowedAddresses(hostname, allowPrivateNetworks, resolve).then(
      (found) => {
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
        const wanted = family === 4 || family === 6 ? found.filter((a) => a.family === family) : found;
        if (wanted.length === 0) {
          callback(Object.assign(new Error(`no IPv${family} address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        } else if (options.all) {
          callback(null, wanted);
        } else {
          callback(null, wanted[0]!.address, wanted[0]!.family);
        }
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
