// IPv4 arithmetic shared by the allocators and the proxy/DNS wiring (addresses as unsigned ints).
import { isIPv4 } from 'node:net';

export function ipToInt(ip: string): number {
  const o = ip.split('.').map(Number);
  return (((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

export interface Cidr {
  cidr: string;
  /** The network address. */
  base: number;
  size: number;
}

export function parseCidr(cidr: string): Cidr {
  const [addr, bits] = cidr.split('/');
  const prefix = Number(bits);
  if (!addr || !isIPv4(addr) || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) throw new Error(`invalid IPv4 CIDR ${JSON.stringify(cidr)} (expected a.b.c.d/8 to /30)`);
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  return { cidr, base: (ipToInt(addr) & mask) >>> 0, size: 2 ** (32 - prefix) };
}

export function cidrContains(c: Cidr, ip: string): boolean {
  if (!isIPv4(ip)) return false;
  const n = ipToInt(ip);
  return n >= c.base && n < c.base + c.size;
}

/** The n-th address of a range (1 = the first usable one). */
export function nthAddress(c: Cidr, n: number): string {
  return intToIp(c.base + n);
}
