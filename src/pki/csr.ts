// Reads a PKCS#10 certification request (RFC 2986) far enough to sign it: subject, key, requested
// SANs, and a proof that the requester holds the private key.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { bitStringBytes, children, decode, encode, fromBinary, oidOf, OID, type Asn1 } from './der.ts';
import { fromPem } from './x509.ts';

export interface ParsedCsr {
  subject: Asn1;
  publicKey: KeyObject;
  /** DER value of a requested subjectAltName extension, if any. */
  subjectAltName?: Buffer;
}

const HASH_BY_SIGNATURE: Record<string, string> = {
  [OID.sha256WithRSA]: 'sha256',
  [OID.sha384WithRSA]: 'sha384',
  [OID.sha512WithRSA]: 'sha512',
  [OID.ecdsaWithSHA256]: 'sha256',
  [OID.ecdsaWithSHA384]: 'sha384',
  [OID.ecdsaWithSHA512]: 'sha512',
};

export function parseCsr(csrPem: string): ParsedCsr {
  const der = fromPem(csrPem, '(?:NEW )?CERTIFICATE REQUEST');
  const [info, sigAlg, sig] = children(decode(der), 'certificate request');
  const [, subject, spki, attributes] = children(info, 'certificationRequestInfo');
  if (!info || !subject || !spki) throw new Error('malformed certificate request: missing fields');

  const sigOid = oidOf(children(sigAlg, 'signatureAlgorithm')[0], 'signatureAlgorithm');
  const hash = HASH_BY_SIGNATURE[sigOid];
  if (!hash) throw new Error(`certificate request uses an unsupported signature algorithm ${sigOid}`);
  const publicKey = createPublicKey({ key: encode(spki), format: 'der', type: 'spki' });
  if (!verify(hash, encode(info), publicKey, bitStringBytes(sig, 'signature'))) {
    throw new Error('certificate request signature does not verify: the requester does not hold the key');
  }

  const parsed: ParsedCsr = { subject, publicKey };
  const san = attributes ? findRequestedExtension(attributes, OID.subjectAltName) : undefined;
  if (san) parsed.subjectAltName = san;
  return parsed;
}

// attributes [0] IMPLICIT SET OF { type OID, values SET OF ANY }; extensionRequest holds Extensions.
function findRequestedExtension(attributes: Asn1, wanted: string): Buffer | undefined {
  for (const attr of children(attributes, 'attributes')) {
    const [type, values] = children(attr, 'attribute');
    if (oidOf(type, 'attribute type') !== OID.extensionRequest) continue;
    for (const exts of children(values, 'attribute values')) {
      for (const ext of children(exts, 'extensions')) {
        const parts = children(ext, 'extension');
        if (oidOf(parts[0], 'extension id') !== wanted) continue;
        const value = parts[parts.length - 1];
        if (value?.type !== forge.asn1.Type.OCTETSTRING || typeof value.value !== 'string') {
          throw new Error('malformed certificate request: bad extension value');
        }
        return fromBinary(value.value);
      }
    }
  }
  return undefined;
}
