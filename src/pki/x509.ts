// Builds and signs X.509 v3 certificates. node-forge's ASN.1 codec lays out the DER; the signature
// itself comes from Node's native crypto, which is both faster than forge's pure-JS RSA and works
// for ECDSA keys, which forge's certificate API cannot handle.
import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bits, bool, children, decode, encode, explicit, integerBytes, ipBytes, nul, octets, oid, OID, seq, time,
  type Asn1,
} from './der.ts';
import forge from 'node-forge';

export type Usage = 'client' | 'server';

export interface CertTemplate {
  /** DER-ready Name of the subject (see der.ts name()). */
  subject: Asn1;
  /** Public key to certify; for a self-signed certificate, the private key (it signs, too). */
  subjectKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  isCA?: boolean;
  usages?: Usage[];
  /** Host names and IP addresses; each is sorted into a dNSName or iPAddress SAN. */
  sans?: string[];
  /** Raw subjectAltName extension value copied from a CSR, used instead of `sans`. */
  rawSubjectAltName?: Buffer;
}

export interface Issuer {
  /** The issuer's subject Name exactly as encoded in its certificate (chain building compares bytes). */
  name: Asn1;
  key: KeyObject;
  keyId: Buffer;
}

export function toPem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export function fromPem(pem: string, label: string): Buffer {
  const m = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`).exec(pem);
  if (!m?.[1]) throw new Error(`no ${label} PEM block found`);
  return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = decode(publicKey.export({ type: 'spki', format: 'der' }));
  const bitString = children(spki, 'SubjectPublicKeyInfo')[1];
  if (!bitString || typeof bitString.value !== 'string') throw new Error('malformed SubjectPublicKeyInfo');
  return createHash('sha1').update(Buffer.from(bitString.value.slice(1), 'binary')).digest();
}

/** Random positive serial: 16 bytes, top bit clear and next bit set so the DER stays minimal. */
function serialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  return serial;
}

function signatureAlgorithm(key: KeyObject): Asn1 {
  // RSA algorithm identifiers carry an explicit NULL; ECDSA ones must omit parameters (RFC 5758).
  if (key.asymmetricKeyType === 'rsa') return seq([oid(OID.sha256WithRSA), nul()]);
  if (key.asymmetricKeyType === 'ec') return seq([oid(OID.ecdsaWithSHA256)]);
  throw new Error(`unsupported signing key type ${key.asymmetricKeyType}`);
}

function extension(id: string, critical: boolean, value: Asn1): Asn1 {
  return seq([oid(id), ...(critical ? [bool(true)] : []), octets(encode(value))]);
}

// KeyUsage bits used here all fall in the first byte (bit 0 is the most significant bit).
const KU = { digitalSignature: 0x80, keyEncipherment: 0x20, keyCertSign: 0x04, cRLSign: 0x02 };

function keyUsage(flags: number): Asn1 {
  let unused = 0;
  while (unused < 7 && !(flags & (1 << unused))) unused++;
  return forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.BITSTRING, false, String.fromCharCode(unused, flags));
}

export function subjectAltName(sans: string[]): Asn1 {
  const ctx = forge.asn1.Class.CONTEXT_SPECIFIC;
  return seq(
    sans.map((s) =>
      isIP(s)
        ? forge.asn1.create(ctx, 7, false, ipBytes(s).toString('binary'))
        : forge.asn1.create(ctx, 2, false, s),
    ),
  );
}

/** Signs `template` with `issuer` (or self-signs when issuer is omitted) and returns the DER certificate. */
export function createCertificate(template: CertTemplate, issuer?: Issuer): Buffer {
  const publicKey = template.subjectKey.type === 'private' ? createPublicKey(template.subjectKey) : template.subjectKey;
  const subjectKeyId = keyIdentifier(publicKey);
  if (!issuer && template.subjectKey.type !== 'private') throw new Error('a self-signed certificate needs the private key');
  const signer: Issuer = issuer ?? { name: template.subject, key: template.subjectKey, keyId: subjectKeyId };
  const sigAlg = signatureAlgorithm(signer.key);
  const exts: Asn1[] = [];
  if (template.isCA) {
    exts.push(extension(OID.basicConstraints, true, seq([bool(true)])));
    exts.push(extension(OID.keyUsage, true, keyUsage(KU.digitalSignature | KU.keyCertSign | KU.cRLSign)));
  } else {
    exts.push(extension(OID.basicConstraints, true, seq([])));
    // keyEncipherment only means something for RSA key transport; ECDSA keys just sign.
    const rsa = publicKey.asymmetricKeyType === 'rsa';
    exts.push(extension(OID.keyUsage, true, keyUsage(KU.digitalSignature | (rsa ? KU.keyEncipherment : 0))));
    const ekus = (template.usages ?? []).map((u) => oid(u === 'server' ? OID.serverAuth : OID.clientAuth));
    if (ekus.length) exts.push(extension(OID.extKeyUsage, false, seq(ekus)));
  }
  exts.push(extension(OID.subjectKeyIdentifier, false, octets(subjectKeyId)));
  if (issuer) {
    const keyIdTag = forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 0, false, signer.keyId.toString('binary'));
    exts.push(extension(OID.authorityKeyIdentifier, false, seq([keyIdTag])));
  }
  if (template.rawSubjectAltName) {
    exts.push(seq([oid(OID.subjectAltName), octets(template.rawSubjectAltName)]));
  } else if (template.sans?.length) {
    exts.push(extension(OID.subjectAltName, false, subjectAltName(template.sans)));
  }

  const tbs = seq([
    explicit(0, integerBytes(Buffer.from([2]))), // v3
    integerBytes(serialNumber()),
    sigAlg,
    signer.name,
    seq([time(template.notBefore), time(template.notAfter)]),
    template.subject,
    decode(publicKey.export({ type: 'spki', format: 'der' })),
    explicit(3, seq(exts)),
  ]);
  const tbsDer = encode(tbs);
  // For EC keys Node emits the DER ECDSA-Sig-Value that X.509 expects.
  const signature = sign('sha256', tbsDer, signer.key);
  return encode(seq([decode(tbsDer), signatureAlgorithm(signer.key), bits(signature)]));
}

/** The subject Name node of a DER certificate, byte-for-byte, to use as the issuer of certs it signs. */
export function subjectNameOf(certDer: Buffer): Asn1 {
  const tbs = children(children(decode(certDer), 'certificate')[0], 'tbsCertificate');
  // tbsCertificate: [0] version, serial, signature, issuer, validity, subject, ...
  const subject = tbs[0]?.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? tbs[5] : tbs[4];
  if (!subject) throw new Error('malformed certificate: no subject');
  return subject;
}
