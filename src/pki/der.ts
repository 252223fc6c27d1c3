// Thin DER helpers over node-forge's ASN.1 codec. forge works on "binary strings" (one char per
// byte); everything here converts at the edges so the rest of the PKI code sees Buffers.
import forge from 'node-forge';
import { isIP } from 'node:net';

export type Asn1 = forge.asn1.Asn1;

const { asn1 } = forge;
const UNIVERSAL = asn1.Class.UNIVERSAL;
const CONTEXT = asn1.Class.CONTEXT_SPECIFIC;
const T = asn1.Type;

export const toBinary = (buf: Buffer): string => buf.toString('binary');
export const fromBinary = (bytes: string): Buffer => Buffer.from(bytes, 'binary');

export const seq = (items: Asn1[]): Asn1 => asn1.create(UNIVERSAL, T.SEQUENCE, true, items);
export const set = (items: Asn1[]): Asn1 => asn1.create(UNIVERSAL, T.SET, true, items);
export const oid = (dotted: string): Asn1 => asn1.create(UNIVERSAL, T.OID, false, asn1.oidToDer(dotted).getBytes());
export const nul = (): Asn1 => asn1.create(UNIVERSAL, T.NULL, false, '');
export const bool = (v: boolean): Asn1 => asn1.create(UNIVERSAL, T.BOOLEAN, false, v ? '\xff' : '\x00');
export const octets = (bytes: Buffer): Asn1 => asn1.create(UNIVERSAL, T.OCTETSTRING, false, toBinary(bytes));
export const utf8 = (s: string): Asn1 => asn1.create(UNIVERSAL, T.UTF8, false, forge.util.encodeUtf8(s));
/** A BIT STRING holding whole bytes (signatures, public keys). */
export const bits = (bytes: Buffer): Asn1 => asn1.create(UNIVERSAL, T.BITSTRING, false, '\x00' + toBinary(bytes));
/** Explicitly tagged [n]. */
export const explicit = (n: number, inner: Asn1): Asn1 => asn1.create(CONTEXT, n, true, [inner]);
/** An INTEGER from big-endian bytes that the caller keeps minimal and positive. */
export const integerBytes = (bytes: Buffer): Asn1 => asn1.create(UNIVERSAL, T.INTEGER, false, toBinary(bytes));

export function encode(node: Asn1): Buffer {
  return fromBinary(asn1.toDer(node).getBytes());
}

/** Strict DER parse; BIT STRINGs are kept as raw bytes (leading unused-bits octet included). */
export function decode(der: Buffer): Asn1 {
  const parse = asn1.fromDer as unknown as (b: string, o: object) => Asn1;
  return parse(toBinary(der), { strict: true, parseAllBytes: true, decodeBitStrings: false });
}

export function children(node: Asn1 | undefined, what: string): Asn1[] {
  if (!node || !Array.isArray(node.value)) throw new Error(`malformed ${what}: expected a constructed ASN.1 value`);
  return node.value;
}

export function oidOf(node: Asn1 | undefined, what: string): string {
  if (!node || node.type !== T.OID || typeof node.value !== 'string') throw new Error(`malformed ${what}: expected an OID`);
  return asn1.derToOid(node.value);
}

export function bitStringBytes(node: Asn1 | undefined, what: string): Buffer {
  if (!node || node.type !== T.BITSTRING || typeof node.value !== 'string') throw new Error(`malformed ${what}: expected a BIT STRING`);
  return fromBinary(node.value.slice(1));
}

// RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on.
export function time(d: Date): Asn1 {
  return d.getUTCFullYear() < 2050
    ? asn1.create(UNIVERSAL, T.UTCTIME, false, asn1.dateToUtcTime(d))
    : asn1.create(UNIVERSAL, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));
}

export const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  extensionRequest: '1.2.840.113549.1.9.14',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  sha512WithRSA: '1.2.840.113549.1.1.13',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
} as const;

/** Distinguished name: one RDN per attribute, CN after the organizations (the order Go and openssl print). */
export function name(subject: { commonName: string; organizations?: string[] }): Asn1 {
  const rdn = (type: string, value: string) => set([seq([oid(type), utf8(value)])]);
  return seq([...(subject.organizations ?? []).map((o) => rdn(OID.organization, o)), rdn(OID.commonName, subject.commonName)]);
}

/** IPv4 or IPv6 text → the 4 or 16 bytes an iPAddress SAN carries. */
export function ipBytes(ip: string): Buffer {
  const family = isIP(ip);
  if (family === 4) return Buffer.from(ip.split('.').map(Number));
  if (family !== 6) throw new Error(`not an IP address: ${ip}`);
  // Rewrite an embedded dotted quad (::ffff:1.2.3.4) as two hex groups, then expand "::".
  const text = ip.replace(/%.*$/, '').replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`);
  const parse = (s: string) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const [head = '', rest] = text.split('::');
  const left = parse(head);
  const right = parse(rest ?? '');
  const groups = rest === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}
