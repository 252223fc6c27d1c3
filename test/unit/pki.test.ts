import assert from 'node:assert/strict';
import { createHash, createPrivateKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import forge from 'node-forge';
import { caHash, certInfo, ensurePki, issueClientCert, signCsr, type ClusterPki } from '../../src/pki/index.ts';
import { setLogSink } from '../../src/util/log.ts';
import { bits, children, decode, encode, integerBytes, name, oid, octets, OID, oidOf, seq, set } from '../../src/pki/der.ts';
import { subjectAltName, toPem } from '../../src/pki/x509.ts';

setLogSink(() => {});

const DAY = 24 * 60 * 60 * 1000;
const OPTS = { nodeName: 'node-a', extraSANs: ['devbox.example', '192.168.7.9'] };
const LEAVES = ['apiServer', 'admin', 'kubeletServing', 'kubeletClient'] as const;

const x509 = (pem: string) => new X509Certificate(pem);
const serials = (p: ClusterPki) => Object.fromEntries((['ca', ...LEAVES] as const).map((k) => [k, x509(p[k].certPem).serialNumber]));

/** Raw value of an extension, found by OID in the certificate DER. */
function extensionValue(pem: string, id: string): { critical: boolean; value: Buffer } | undefined {
  const tbs = children(children(decode(x509(pem).raw), 'cert')[0], 'tbs');
  const exts = tbs[tbs.length - 1];
  for (const ext of children(children(exts, 'ext wrapper')[0], 'exts')) {
    const parts = children(ext, 'ext');
    if (oidOf(parts[0], 'ext id') !== id) continue;
    const last = parts[parts.length - 1]!;
    return { critical: parts.length === 3, value: Buffer.from(last.value as string, 'binary') };
  }
  return undefined;
}

/** KeyUsage first byte (bit 0 = 0x80 = digitalSignature, 0x04 = keyCertSign). */
function keyUsageByte(pem: string): number {
  const ku = extensionValue(pem, OID.keyUsage);
  assert.ok(ku?.critical, 'keyUsage present and critical');
  const bitString = decode(ku.value);
  return (bitString.value as string).charCodeAt(1);
}

const ekus = (pem: string) => x509(pem).keyUsage ?? [];

describe('ensurePki', () => {
  let dir: string;
  let pki: ClusterPki;
  let freshMs: number;

  before(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'nanokube-pki-')), 'pki');
    const t0 = performance.now();
    pki = await ensurePki(dir, OPTS);
    freshMs = performance.now() - t0;
  });
  after(() => rm(join(dir, '..'), { recursive: true, force: true }));

  it('creates every part on a fresh dir, quickly', (t) => {
    t.diagnostic(`fresh ensurePki: ${freshMs.toFixed(0)} ms`);
    assert.deepEqual(pki.generated, ['ca', 'apiServer', 'admin', 'kubeletServing', 'kubeletClient', 'serviceAccount']);
    // Generous bound for a loaded 2-core CI box; the figure above is what to watch.
    assert.ok(freshMs < 3000, `fresh PKI took ${freshMs} ms`);
  });

  it('writes keys 0600, certs 0644, dir 0700, and no temp files', async () => {
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    for (const part of ['ca', ...LEAVES] as const) {
      assert.equal((await stat(pki[part].keyFile)).mode & 0o777, 0o600, pki[part].keyFile);
      assert.equal((await stat(pki[part].certFile)).mode & 0o777, 0o644, pki[part].certFile);
    }
    assert.equal((await stat(pki.serviceAccount.privateKeyFile)).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.tmp')), []);
  });

  it('makes a 10-year CA with cA and keyCertSign', () => {
    const ca = x509(pki.ca.certPem);
    assert.equal(ca.ca, true);
    assert.ok(ca.verify(ca.publicKey), 'self-signed');
    assert.ok(keyUsageByte(pki.ca.certPem) & 0x04, 'keyCertSign');
    const years = (new Date(ca.validTo).getTime() - Date.now()) / (365 * DAY);
    assert.ok(years > 9.9 && years < 10.1, `CA valid ${years} years`);
  });

  it('signs every leaf with the CA, for one year, with the right subject and usages', () => {
    const ca = x509(pki.ca.certPem);
    const want = {
      apiServer: { cn: 'kube-apiserver', o: [], eku: [OID.serverAuth] },
      admin: { cn: 'nanokube-admin', o: ['system:masters'], eku: [OID.clientAuth] },
      kubeletServing: { cn: 'system:node:node-a', o: ['system:nodes'], eku: [OID.serverAuth] },
      kubeletClient: { cn: 'system:node:node-a', o: ['system:nodes'], eku: [OID.clientAuth] },
    };
    for (const part of LEAVES) {
      const cert = x509(pki[part].certPem);
      assert.ok(cert.checkIssued(ca), `${part} issued by CA`);
      assert.ok(cert.verify(ca.publicKey), `${part} signature`);
      assert.equal(cert.ca, false);
      const info = certInfo(pki[part].certPem);
      assert.equal(info.subjectCN, want[part].cn);
      assert.deepEqual(info.organizations, want[part].o);
      assert.deepEqual(ekus(pki[part].certPem), want[part].eku, `${part} extKeyUsage`);
      assert.ok(keyUsageByte(pki[part].certPem) & 0x80, `${part} digitalSignature`);
      const days = (info.notAfter.getTime() - Date.now()) / DAY;
      assert.ok(days > 364 && days < 366, `${part} valid ${days} days`);
      assert.equal(cert.serialNumber.length, 32);
      assert.ok(parseInt(cert.serialNumber[0]!, 16) < 8, 'positive serial');
    }
  });

  it('covers the API server and kubelet names', () => {
    const api = certInfo(pki.apiServer.certPem).sans;
    for (const san of [
      '127.0.0.1', 'localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local', '10.43.0.1', 'devbox.example', '192.168.7.9',
    ]) {
      assert.ok(api.includes(san), `apiserver SAN ${san} in ${api.join(',')}`);
    }
    const kubelet = x509(pki.kubeletServing.certPem);
    assert.ok(kubelet.checkHost('node-a', { subject: 'never' }));
    assert.ok(kubelet.checkIP('192.168.7.9'));
    assert.equal(certInfo(pki.admin.certPem).sans.length, 0);
  });

  it('makes an RSA-2048 service account key pair', () => {
    assert.equal(createPrivateKey(pki.serviceAccount.privateKeyPem).asymmetricKeyDetails?.modulusLength, 2048);
    const signature = sign('sha256', Buffer.from('payload'), pki.serviceAccount.privateKeyPem);
    assert.equal(signature.length, 256);
    assert.match(pki.serviceAccount.publicKeyPem, /BEGIN PUBLIC KEY/);
  });

  it('reuses everything on the next start', async () => {
    const again = await ensurePki(dir, OPTS);
    assert.deepEqual(again.generated, []);
    assert.deepEqual(serials(again), serials(pki));
    assert.equal(again.serviceAccount.privateKeyPem, pki.serviceAccount.privateKeyPem);
  });

  it('renews leaves within 30 days of expiry, keeping the CA', async () => {
    const notYet = await ensurePki(dir, { ...OPTS, now: new Date(Date.now() + 330 * DAY) });
    assert.deepEqual(notYet.generated, [], '35 days left: keep');
    const later = new Date(Date.now() + 340 * DAY);
    const renewed = await ensurePki(dir, { ...OPTS, now: later });
    assert.deepEqual(renewed.generated, [...LEAVES]);
    assert.equal(x509(renewed.ca.certPem).serialNumber, x509(pki.ca.certPem).serialNumber);
    for (const part of LEAVES) {
      const cert = x509(renewed[part].certPem);
      assert.ok(cert.verify(x509(pki.ca.certPem).publicKey));
      assert.ok(new Date(cert.validTo).getTime() > later.getTime() + 364 * DAY);
    }
    pki = renewed;
  });

  it('regenerates only the serving certs when asked for a new SAN', async () => {
    const before = serials(pki);
    const next = await ensurePki(dir, { ...OPTS, extraSANs: [...OPTS.extraSANs, '10.0.0.5'] });
    assert.deepEqual(next.generated, ['apiServer', 'kubeletServing']);
    assert.ok(x509(next.apiServer.certPem).checkIP('10.0.0.5'));
    assert.equal(serials(next).admin, before.admin);
    pki = next;
  });

  it('regenerates a missing or corrupt leaf alone', async () => {
    await unlink(pki.admin.certFile);
    await writeFile(pki.kubeletClient.keyFile, 'garbage', { mode: 0o600 });
    const next = await ensurePki(dir, { ...OPTS, extraSANs: [...OPTS.extraSANs, '10.0.0.5'] });
    assert.deepEqual(next.generated, ['admin', 'kubeletClient']);
    pki = next;
  });

  it('regenerates the CA and all leaves when the CA key is lost, keeping the SA key', async () => {
    const saKey = pki.serviceAccount.privateKeyPem;
    await unlink(pki.ca.keyFile);
    const next = await ensurePki(dir, OPTS);
    assert.deepEqual(next.generated, ['ca', ...LEAVES]);
    assert.notEqual(x509(next.ca.certPem).serialNumber, x509(pki.ca.certPem).serialNumber);
    for (const part of LEAVES) assert.ok(x509(next[part].certPem).checkIssued(x509(next.ca.certPem)));
    assert.equal(next.serviceAccount.privateKeyPem, saKey);
    pki = next;
  });

  it('replaces a CA that is about to expire, and every leaf with it', async () => {
    const nearCaEnd = new Date(new Date(x509(pki.ca.certPem).validTo).getTime() - 10 * DAY);
    // A separate dir (the next tests need this one), seeded with the SA key to skip a slow RSA keygen.
    const other = join(dir, '..', 'expiring');
    await mkdir(other, { mode: 0o700 });
    await copyFile(pki.serviceAccount.privateKeyFile, join(other, basename(pki.serviceAccount.privateKeyFile)));
    const next = await ensurePki(other, OPTS);
    const replaced = await ensurePki(other, { ...OPTS, now: nearCaEnd });
    assert.deepEqual(replaced.generated, ['ca', ...LEAVES]);
    assert.notEqual(x509(replaced.ca.certPem).serialNumber, x509(next.ca.certPem).serialNumber);
    assert.ok(new Date(x509(replaced.ca.certPem).validTo).getTime() > nearCaEnd.getTime() + 3600 * DAY);
  });

  it('serves TLS that verifies by hostname and IP, with a verified client certificate', async () => {
    const server = tls.createServer({
      cert: pki.apiServer.certPem,
      key: pki.apiServer.keyPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const seen: { authorized: boolean; cn: unknown; o: unknown }[] = [];
    server.on('secureConnection', (socket) => {
      const peer = socket.getPeerCertificate();
      seen.push({ authorized: socket.authorized, cn: peer.subject.CN, o: peer.subject.O });
      socket.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const connect = (opts: tls.ConnectionOptions) =>
        new Promise<string>((resolve, reject) => {
          const socket = tls.connect({ host: '127.0.0.1', port, ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem, ...opts });
          let data = '';
          socket.on('secureConnect', () => assert.ok(socket.authorized, 'server cert verified'));
          socket.on('data', (d) => (data += d));
          socket.on('end', () => resolve(data));
          socket.on('error', reject);
        });
      assert.equal(await connect({ servername: 'localhost' }), 'ok');
      assert.equal(await connect({}), 'ok'); // no SNI: identity checked against the IP 127.0.0.1
      assert.equal(await connect({ servername: 'kubernetes.default.svc' }), 'ok');
      await assert.rejects(connect({ servername: 'not-in-the-cert.example' }), /ERR_TLS_CERT_ALTNAME_INVALID|does not match/);
      assert.deepEqual(seen[0], { authorized: true, cn: 'nanokube-admin', o: 'system:masters' });

      // A client cert whose issuer the server does not trust (a leaf posing as a CA) is refused.
      const forged = await issueClientCert(pki.kubeletServing, { commonName: 'nanokube-admin', organizations: ['system:masters'] });
      const accepted = seen.length;
      const outcome = await connect({ servername: 'localhost', cert: forged.certPem, key: forged.keyPem }).catch((e: Error) => e);
      // The server answers "ok" to every connection it accepts; this one got nothing (or an error).
      assert.notEqual(outcome, 'ok');
      assert.equal(seen.length, accepted);
    } finally {
      server.close();
    }
  });
});

describe('issueClientCert, signCsr, caHash', () => {
  let dir: string;
  let pki: ClusterPki;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanokube-pki-'));
    pki = await ensurePki(dir, OPTS);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('issues client certs for users', async () => {
    const issued = await issueClientCert(pki.ca, { commonName: 'jane', organizations: ['dev', 'ops'] }, { days: 7 });
    const cert = x509(issued.certPem);
    assert.ok(cert.checkIssued(x509(pki.ca.certPem)) && cert.verify(x509(pki.ca.certPem).publicKey));
    assert.ok(cert.checkPrivateKey(createPrivateKey(issued.keyPem)));
    const info = certInfo(issued.certPem);
    assert.equal(info.subjectCN, 'jane');
    assert.deepEqual(info.organizations, ['dev', 'ops']);
    assert.deepEqual(ekus(issued.certPem), [OID.clientAuth]);
    const days = (info.notAfter.getTime() - Date.now()) / DAY;
    assert.ok(days > 6.9 && days < 7.1);
  });

  it('signs an ECDSA CSR with its requested SANs (as a kubelet sends it)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const csr = buildEcCsr(privateKey, publicKey, 'system:node:node-b', ['system:nodes'], ['node-b', '10.1.2.3']);
    const certPem = signCsr(pki.ca, csr, { usages: 'server', days: 30 });
    const cert = x509(certPem);
    assert.ok(cert.verify(x509(pki.ca.certPem).publicKey));
    assert.ok(cert.publicKey.equals(publicKey));
    assert.deepEqual(certInfo(certPem), {
      subjectCN: 'system:node:node-b',
      organizations: ['system:nodes'],
      notAfter: certInfo(certPem).notAfter,
      sans: ['node-b', '10.1.2.3'],
    });
    assert.deepEqual(ekus(certPem), [OID.serverAuth]);
    // Client certs ignore requested SANs.
    assert.deepEqual(certInfo(signCsr(pki.ca, csr, { usages: 'client' })).sans, []);
  });

  it('signs an RSA CSR made by forge, and refuses a tampered one', () => {
    // Borrow the SA key rather than generating another RSA key (slow).
    const rsaKey = createPrivateKey(pki.serviceAccount.privateKeyPem);
    const forgeKey = forge.pki.privateKeyFromPem(rsaKey.export({ type: 'pkcs1', format: 'pem' }).toString());
    const req = forge.pki.createCertificationRequest();
    req.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
    req.setSubject([{ name: 'commonName', value: 'bob' }]);
    req.sign(forgeKey, forge.md.sha256.create());
    const csrPem = forge.pki.certificationRequestToPem(req);
    const certPem = signCsr(pki.ca, csrPem, { usages: 'client' });
    assert.equal(certInfo(certPem).subjectCN, 'bob');
    assert.ok(x509(certPem).verify(x509(pki.ca.certPem).publicKey));
    assert.ok(keyUsageByte(certPem) & 0x20, 'keyEncipherment for an RSA key');

    // Same length, different signed bytes: the signature no longer matches.
    const der = Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(req)).getBytes(), 'binary');
    const at = der.indexOf('bob');
    assert.ok(at > 0);
    der.write('bub', at);
    const tampered = toPem('CERTIFICATE REQUEST', der);
    assert.throws(() => signCsr(pki.ca, tampered, { usages: 'client' }), /does not verify/);
  });

  it('computes the kubeadm-style CA pin over the SubjectPublicKeyInfo', () => {
    const tbs = children(children(decode(x509(pki.ca.certPem).raw), 'cert')[0], 'tbs');
    const spki = encode(tbs[6]!);
    assert.equal(caHash(pki.ca.certPem), `sha256:${createHash('sha256').update(spki).digest('hex')}`);
    assert.match(caHash(pki.ca.certPem), /^sha256:[0-9a-f]{64}$/);
  });
});

/** A PKCS#10 request built by hand, since neither Node nor forge can make one for an EC key. */
function buildEcCsr(privateKey: KeyObject, publicKey: KeyObject, cn: string, orgs: string[], sans: string[]): string {
  const extensionRequest = seq([
    oid(OID.extensionRequest),
    set([seq([seq([oid(OID.subjectAltName), octets(encode(subjectAltName(sans)))])])]),
  ]);
  const attributes = forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 0, true, [extensionRequest]);
  const info = seq([
    integerBytes(Buffer.from([0])),
    name({ commonName: cn, organizations: orgs }),
    decode(publicKey.export({ type: 'spki', format: 'der' })),
    attributes,
  ]);
  const signature = sign('sha256', encode(info), privateKey);
  return toPem('CERTIFICATE REQUEST', encode(seq([info, seq([oid(OID.ecdsaWithSHA256)]), bits(signature)])));
}
