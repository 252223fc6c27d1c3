// The cluster's PKI: generated once into a data directory, reused and renewed on every start.
//
// Key choice: Node's RSA-2048 keygen takes 100-400 ms per key on a dev laptop or CI runner, which alone
// would blow the one-second start budget. The CA and every TLS/client certificate therefore use
// ECDSA P-256 (what k3s and kubeadm's kubelet CSRs use; every Kubernetes client accepts it). Only the
// ServiceAccount signing key is RSA-2048, because tokens are RS256 JWTs. All keys come from Node's
// native, async generateKeyPair, in parallel; forge only lays out the certificate DER (see x509.ts).
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, X509Certificate, type KeyObject } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { logger } from '../util/log.ts';
import { parseCsr } from './csr.ts';
import { name } from './der.ts';
import { readIfExists, writeFileAtomic } from './files.ts';
import { createCertificate, fromPem, keyIdentifier, subjectNameOf, toPem, type Issuer, type Usage } from './x509.ts';

const log = logger('pki');
const generateKeyPairAsync = promisify(generateKeyPair);

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_DAYS = 3650;
const LEAF_DAYS = 365;
const RENEW_BEFORE_DAYS = 30;
// A little backdating so a cert made just now is valid for a peer whose clock is slightly behind.
const BACKDATE_MS = 60 * 60 * 1000;

export const DEFAULT_SERVICE_IP = '10.43.0.1';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
export const ADMIN_COMMON_NAME = 'nanokube-admin';

export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

export interface CertFiles extends CertAndKey {
  certFile: string;
  keyFile: string;
}

export interface ServiceAccountKeys {
  publicKeyPem: string;
  privateKeyPem: string;
  publicKeyFile: string;
  privateKeyFile: string;
}

export type PkiPart = 'ca' | 'apiServer' | 'admin' | 'kubeletServing' | 'kubeletClient' | 'serviceAccount';

export interface ClusterPki {
  ca: CertFiles;
  apiServer: CertFiles;
  admin: CertFiles;
  kubeletServing: CertFiles;
  kubeletClient: CertFiles;
  serviceAccount: ServiceAccountKeys;
  /** Parts created or renewed by this call, in dependency order; empty when everything was reused. */
  generated: PkiPart[];
}

export interface EnsurePkiOptions {
  nodeName: string;
  /** Extra host names / IPs for the API server and kubelet serving certs (node IP, host name, ...). */
  extraSANs?: string[];
  serviceIP?: string;
  clusterDomain?: string;
  /** Clock override, for tests of expiry and renewal. */
  now?: Date;
}

export interface Subject {
  commonName: string;
  organizations?: string[];
}

type LeafPart = Exclude<PkiPart, 'ca' | 'serviceAccount'>;

interface LeafSpec {
  subject: Subject;
  usages: Usage[];
  sans: string[];
}

const FILES: Record<Exclude<PkiPart, 'serviceAccount'>, string> = {
  ca: 'ca',
  apiServer: 'apiserver',
  admin: 'admin',
  kubeletServing: 'kubelet-serving',
  kubeletClient: 'kubelet-client',
};
const SA_PUBLIC = 'service-account.pub';
const SA_PRIVATE = 'service-account.key';
const LEAVES: LeafPart[] = ['apiServer', 'admin', 'kubeletServing', 'kubeletClient'];

function leafSpecs(opts: EnsurePkiOptions): Record<LeafPart, LeafSpec> {
  const domain = opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const extra = opts.extraSANs ?? [];
  return {
    apiServer: {
      subject: { commonName: 'kube-apiserver' },
      usages: ['server'],
      sans: unique([
        '127.0.0.1', 'localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc',
        `kubernetes.default.svc.${domain}`, opts.serviceIP ?? DEFAULT_SERVICE_IP, ...extra,
      ]),
    },
    admin: { subject: { commonName: ADMIN_COMMON_NAME, organizations: ['system:masters'] }, usages: ['client'], sans: [] },
    // Subject as the kubernetes.io/kubelet-serving signer requires it.
    kubeletServing: {
      subject: { commonName: `system:node:${opts.nodeName}`, organizations: ['system:nodes'] },
      usages: ['server'],
      sans: unique([opts.nodeName, 'localhost', '127.0.0.1', ...extra]),
    },
    kubeletClient: {
      subject: { commonName: `system:node:${opts.nodeName}`, organizations: ['system:nodes'] },
      usages: ['client'],
      sans: [],
    },
  };
}

const unique = (xs: string[]) => [...new Set(xs.filter((x) => x.length > 0))];

interface Loaded {
  certPem: string;
  keyPem: string;
  cert: X509Certificate;
  key: KeyObject;
}

async function loadPair(dir: string, base: string): Promise<Loaded | undefined> {
  const [certPem, keyPem] = await Promise.all([readIfExists(join(dir, `${base}.crt`)), readIfExists(join(dir, `${base}.key`))]);
  if (certPem === undefined || keyPem === undefined) return undefined;
  try {
    const cert = new X509Certificate(certPem);
    const key = createPrivateKey(keyPem);
    // A crash between writing a new key and its cert leaves a mismatched pair: treat it as missing.
    if (!cert.publicKey.equals(createPublicKey(key))) return undefined;
    return { certPem, keyPem, cert, key };
  } catch (err) {
    log.warn('unreadable certificate or key, regenerating', { file: join(dir, base), err });
    return undefined;
  }
}

const expiresSoon = (cert: X509Certificate, now: Date) => new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS;

function leafStillGood(leaf: Loaded, ca: Loaded, spec: LeafSpec, now: Date): boolean {
  const { cert } = leaf;
  if (cert.ca || !cert.checkIssued(ca.cert) || !cert.verify(ca.cert.publicKey)) return false;
  if (expiresSoon(cert, now)) return false;
  const subject = parseSubject(cert.subject);
  if (subject.commonName !== spec.subject.commonName) return false;
  if (subject.organizations.join('\n') !== [...(spec.subject.organizations ?? [])].sort().join('\n')) return false;
  return spec.sans.every((san) =>
    isIP(san) ? cert.checkIP(san) !== undefined : cert.checkHost(san, { subject: 'never', wildcards: false }) !== undefined,
  );
}

/** Node prints a subject as one `KEY=value` line per attribute. Organizations come back sorted. */
function parseSubject(subject: string): { commonName: string; organizations: string[] } {
  let commonName = '';
  const organizations: string[] = [];
  for (const line of subject.split('\n')) {
    if (line.startsWith('CN=')) commonName = line.slice(3);
    else if (line.startsWith('O=')) organizations.push(line.slice(2));
  }
  return { commonName, organizations: organizations.sort() };
}

async function newEcKey(): Promise<KeyObject> {
  const { privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'prime256v1' });
  return privateKey;
}

async function newRsaKey(): Promise<KeyObject> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  return privateKey;
}

const keyToPem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }).toString();

function issuerOf(caCertPem: string, caKey: KeyObject): Issuer {
  return { name: subjectNameOf(fromPem(caCertPem, 'CERTIFICATE')), key: caKey, keyId: keyIdentifier(createPublicKey(caKey)) };
}

function signLeaf(issuer: Issuer, key: KeyObject, spec: LeafSpec, now: Date, days: number): string {
  const der = createCertificate(
    {
      subject: name(spec.subject),
      subjectKey: createPublicKey(key),
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + days * DAY_MS),
      usages: spec.usages,
      sans: spec.sans,
    },
    issuer,
  );
  return toPem('CERTIFICATE', der);
}

async function writePair(dir: string, base: string, pair: CertAndKey): Promise<void> {
  // Key first: if we crash before the cert lands, the old cert no longer matches and gets regenerated.
  await writeFileAtomic(join(dir, `${base}.key`), pair.keyPem, 0o600);
  await writeFileAtomic(join(dir, `${base}.crt`), pair.certPem, 0o644);
}

async function ensureServiceAccountKeys(dir: string): Promise<{ keys: ServiceAccountKeys; generated: boolean }> {
  const publicKeyFile = join(dir, SA_PUBLIC);
  const privateKeyFile = join(dir, SA_PRIVATE);
  let privateKeyPem = await readIfExists(privateKeyFile);
  let generated = false;
  let key: KeyObject | undefined;
  if (privateKeyPem !== undefined) {
    try {
      key = createPrivateKey(privateKeyPem);
      if (key.asymmetricKeyType !== 'rsa') key = undefined;
    } catch (err) {
      log.warn('unreadable service account key, regenerating (existing tokens become invalid)', { file: privateKeyFile, err });
    }
  }
  if (!key) {
    key = await newRsaKey();
    privateKeyPem = keyToPem(key);
    await writeFileAtomic(privateKeyFile, privateKeyPem, 0o600);
    generated = true;
  }
  const publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  if ((await readIfExists(publicKeyFile)) !== publicKeyPem) {
    await writeFileAtomic(publicKeyFile, publicKeyPem, 0o644);
    generated = true;
  }
  return { keys: { publicKeyPem, privateKeyPem: privateKeyPem ?? keyToPem(key), publicKeyFile, privateKeyFile }, generated };
}

/**
 * Loads the PKI from `dir`, creating or renewing whatever is missing, unreadable, expiring within
 * 30 days, not issued by the current CA, or no longer covering the requested names.
 */
export async function ensurePki(dir: string, opts: EnsurePkiOptions): Promise<ClusterPki> {
  const now = opts.now ?? new Date();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const specs = leafSpecs(opts);

  // Start the slow RSA keygen first so it overlaps with everything else.
  const serviceAccount = ensureServiceAccountKeys(dir);
  // Awaited below; this only keeps an early failure elsewhere from turning it into an unhandled rejection.
  serviceAccount.catch(() => {});

  const [loadedCa, ...loadedLeaves] = await Promise.all([loadPair(dir, FILES.ca), ...LEAVES.map((p) => loadPair(dir, FILES[p]))]);
  let ca = loadedCa;
  if (ca && (!ca.cert.ca || !ca.cert.verify(ca.cert.publicKey) || expiresSoon(ca.cert, now))) {
    // A new CA invalidates every kubeconfig handed out so far; say so.
    log.warn('cluster CA expired or invalid, generating a new one; existing kubeconfigs stop working', { dir });
    ca = undefined;
  }
  const caToCreate = !ca;
  const stale = LEAVES.filter((part, i) => {
    const leaf = loadedLeaves[i];
    return !ca || !leaf || !leafStillGood(leaf, ca, specs[part], now);
  });

  const [caKey, ...leafKeys] = await Promise.all([caToCreate ? newEcKey() : Promise.resolve(ca!.key), ...stale.map(() => newEcKey())]);
  const generated: PkiPart[] = [];
  let caPair: CertAndKey;
  if (caToCreate) {
    const subject = { commonName: `nanokube-ca@${Math.floor(now.getTime() / 1000)}` };
    const der = createCertificate({
      subject: name(subject),
      subjectKey: caKey,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
      isCA: true,
    });
    caPair = { certPem: toPem('CERTIFICATE', der), keyPem: keyToPem(caKey) };
    await writePair(dir, FILES.ca, caPair);
    generated.push('ca');
  } else {
    caPair = { certPem: ca!.certPem, keyPem: ca!.keyPem };
  }

  const issuer = issuerOf(caPair.certPem, caKey);
  const pairs = new Map<LeafPart, CertAndKey>();
  LEAVES.forEach((part, i) => {
    const leaf = loadedLeaves[i];
    if (leaf && !stale.includes(part)) pairs.set(part, { certPem: leaf.certPem, keyPem: leaf.keyPem });
  });
  await Promise.all(
    stale.map(async (part, i) => {
      const key = leafKeys[i]!;
      const pair = { certPem: signLeaf(issuer, key, specs[part], now, LEAF_DAYS), keyPem: keyToPem(key) };
      await writePair(dir, FILES[part], pair);
      pairs.set(part, pair);
    }),
  );
  generated.push(...stale);

  const sa = await serviceAccount;
  if (sa.generated) generated.push('serviceAccount');
  if (generated.length) log.info('certificates generated', { dir, parts: generated });

  const files = (part: Exclude<PkiPart, 'serviceAccount'>, pair: CertAndKey): CertFiles => ({
    ...pair,
    certFile: join(dir, `${FILES[part]}.crt`),
    keyFile: join(dir, `${FILES[part]}.key`),
  });
  const leaf = (part: LeafPart) => files(part, pairs.get(part)!);
  return {
    ca: files('ca', caPair),
    apiServer: leaf('apiServer'),
    admin: leaf('admin'),
    kubeletServing: leaf('kubeletServing'),
    kubeletClient: leaf('kubeletClient'),
    serviceAccount: sa.keys,
    generated,
  };
}

/** A fresh key pair and client certificate (extKeyUsage clientAuth) signed by `ca`. */
export async function issueClientCert(ca: CertAndKey, subject: Subject, opts: { days?: number } = {}): Promise<CertAndKey> {
  const key = await newEcKey();
  const certPem = signLeaf(issuerOf(ca.certPem, createPrivateKey(ca.keyPem)), key, { subject, usages: ['client'], sans: [] }, new Date(), opts.days ?? LEAF_DAYS);
  return { certPem, keyPem: keyToPem(key) };
}

/**
 * Signs a PKCS#10 CSR (RSA or ECDSA) after checking its self-signature. Subject comes from the CSR as is;
 * requested SANs are honoured for serving certificates only. Policy (who may get what) is the caller's job.
 */
export function signCsr(ca: CertAndKey, csrPem: string, opts: { usages: Usage; days?: number }): string {
  const csr = parseCsr(csrPem);
  const now = new Date();
  const der = createCertificate(
    {
      subject: csr.subject,
      subjectKey: csr.publicKey,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + (opts.days ?? LEAF_DAYS) * DAY_MS),
      usages: [opts.usages],
      ...(opts.usages === 'server' && csr.subjectAltName ? { rawSubjectAltName: csr.subjectAltName } : {}),
    },
    issuerOf(ca.certPem, createPrivateKey(ca.keyPem)),
  );
  return toPem('CERTIFICATE', der);
}

export interface CertInfo {
  subjectCN: string;
  organizations: string[];
  notAfter: Date;
  /** DNS names and IP addresses, without the `DNS:` / `IP Address:` prefixes. */
  sans: string[];
}

export function certInfo(certPem: string): CertInfo {
  const cert = new X509Certificate(certPem);
  const subject = parseSubject(cert.subject);
  const sans = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.length > 0)
    .map((s) => s.replace(/^(DNS:|IP Address:)/, ''));
  return { subjectCN: subject.commonName, organizations: subject.organizations, notAfter: new Date(cert.validTo), sans };
}

/** kubeadm-style CA pin: `sha256:` + hex SHA-256 of the CA certificate's SubjectPublicKeyInfo (DER). */
export function caHash(caCertPem: string): string {
  const spki = new X509Certificate(caCertPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

export type { Usage } from './x509.ts';
