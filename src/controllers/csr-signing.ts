// CertificateSigningRequests: the approver (kubelet client certificates asked for by nodes or
// bootstrap tokens are approved when the requester may, as upstream's csrapproving controller
// checks with SubjectAccessReviews) and the signer for the kubernetes.io/kube-apiserver-client and
// kubernetes.io/kube-apiserver-client-kubelet signers (approved, not denied or failed, no
// certificate yet -> status.certificate signed by the cluster CA).
import { X509Certificate } from 'node:crypto';
import { Informer } from '../client/informer.ts';
import type { Client, KubeObject, ResourceRef } from '../client/types.ts';
import { ControllerRunner, type Reconciler, type Request } from '../controller/runner.ts';
import { certInfo, signCsr, type CertAndKey } from '../pki/index.ts';
import type { Component } from '../server/components.ts';
import { logger } from '../util/log.ts';

const log = logger('controllers/csr-signing');

export const csrRef: ResourceRef = { group: 'certificates.k8s.io', version: 'v1', resource: 'certificatesigningrequests', namespaced: false };
const sarRef: ResourceRef = { group: 'authorization.k8s.io', version: 'v1', resource: 'subjectaccessreviews', namespaced: false };
export const CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';
export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
const SIGNERS = new Set([CLIENT_SIGNER, KUBELET_CLIENT_SIGNER]);
const CONTROLLER = 'certificate-controller';
/** Upstream's default --cluster-signing-duration is a year; CSRs may ask for less (never under 10 min). */
const MAX_DAYS = 365;

interface Condition {
  type: string;
  status?: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
}
interface CsrSpec {
  request?: string;
  signerName?: string;
  usages?: string[];
  expirationSeconds?: number;
  username?: string;
  groups?: string[];
  uid?: string;
}
type Csr = KubeObject & { spec?: CsrSpec; status?: { conditions?: Condition[]; certificate?: string } };

const hasCondition = (csr: Csr, type: string) => (csr.status?.conditions ?? []).some((c) => c.type === type && (c.status ?? 'True') === 'True');

/** Usages a client certificate may ask for (upstream's kube-apiserver-client signer rules). */
const CLIENT_USAGES = new Set(['client auth', 'digital signature', 'key encipherment']);

export class CsrSigningController implements Reconciler {
  readonly name = CONTROLLER;
  readonly informer: Informer<KubeObject>;
  private readonly runner = new ControllerRunner(this, 2);

  constructor(
    private readonly client: Client,
    private readonly ca: CertAndKey,
    private readonly now: () => number = Date.now,
  ) {
    this.informer = new Informer<KubeObject>(client, csrRef);
    const enqueue = (o: KubeObject) => this.runner.enqueue({ name: o.metadata.name ?? '' });
    this.informer.addHandlers({ onAdd: enqueue, onUpdate: (_old, o) => enqueue(o) });
  }

  async reconcile(req: Request): Promise<void> {
    const cached = this.informer.get(req.name) as Csr | undefined;
    if (!cached) return;
    const csr = structuredClone(cached);
    const signer = csr.spec?.signerName ?? '';
    if (!SIGNERS.has(signer) || csr.status?.certificate || hasCondition(csr, 'Denied') || hasCondition(csr, 'Failed')) return;
    if (!hasCondition(csr, 'Approved')) {
      if (signer === KUBELET_CLIENT_SIGNER) await this.maybeApproveKubeletClient(csr);
      return;
    }
    const problem = this.checkRequest(csr);
    if (problem) {
      csr.status = { ...(csr.status ?? {}), conditions: [...(csr.status?.conditions ?? []), this.condition('Failed', 'SignerValidationFailure', problem)] };
      await this.client.update(csrRef, csr, { subresource: 'status' });
      return;
    }
    const pem = Buffer.from(csr.spec?.request ?? '', 'base64').toString('utf8');
    const requestedDays = csr.spec?.expirationSeconds ? Math.max(csr.spec.expirationSeconds / 86400, 600 / 86400) : MAX_DAYS;
    const certPem = signCsr(this.ca, pem, { usages: 'client', days: Math.min(requestedDays, MAX_DAYS) });
    csr.status = { ...(csr.status ?? {}), certificate: Buffer.from(certPem).toString('base64') };
    await this.client.update(csrRef, csr, { subresource: 'status' });
    log.info('signed', { csr: req.name, signer, subject: certInfo(certPem).subjectCN });
  }

  /** Why the CSR may not be signed by its signer, or undefined. */
  private checkRequest(csr: Csr): string | undefined {
    let subject: { commonName: string; organizations: string[] };
    try {
      subject = this.subjectOf(csr);
    } catch (e) {
      return `invalid certificate request: ${(e as Error).message}`;
    }
    const usages = csr.spec?.usages ?? [];
    if (!usages.includes('client auth') || usages.some((u) => !CLIENT_USAGES.has(u))) return `invalid usages for a client certificate: ${usages.join(', ')}`;
    if (!subject.commonName) return 'the subject common name (the user name) must not be empty';
    if (csr.spec?.signerName === KUBELET_CLIENT_SIGNER) {
      const orgs = subject.organizations;
      if (!subject.commonName.startsWith('system:node:') || orgs.length !== 1 || orgs[0] !== 'system:nodes') {
        return 'kubelet client certificates must be for CN=system:node:<name>, O=system:nodes';
      }
    }
    return undefined;
  }

  /**
   * The subject a CSR asks for. The PKI reads CSRs only to sign them, so a throwaway certificate
   * is signed and read back (this also checks the CSR's own signature).
   */
  private subjectOf(csr: Csr): { commonName: string; organizations: string[] } {
    const info = certInfo(signCsr(this.ca, Buffer.from(csr.spec?.request ?? '', 'base64').toString('utf8'), { usages: 'client', days: 1 }));
    return { commonName: info.subjectCN, organizations: info.organizations };
  }

  /** Nodes renewing their own certificate (selfnodeclient) or bootstrap tokens asking for one (nodeclient). */
  private async maybeApproveKubeletClient(csr: Csr): Promise<void> {
    if (this.checkRequest(csr)) return;
    const cn = this.subjectOf(csr).commonName;
    const self = csr.spec?.username === cn;
    const sub = self ? 'selfnodeclient' : 'nodeclient';
    const review = await this.client.create<KubeObject & { status?: { allowed?: boolean } }>(sarRef, {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      metadata: {},
      spec: {
        user: csr.spec?.username ?? '',
        groups: csr.spec?.groups ?? [],
        ...(csr.spec?.uid ? { uid: csr.spec.uid } : {}),
        resourceAttributes: { group: 'certificates.k8s.io', resource: 'certificatesigningrequests', subresource: sub, verb: 'create' },
      },
    } as KubeObject);
    if (!review.status?.allowed) return;
    csr.status = { ...(csr.status ?? {}), conditions: [...(csr.status?.conditions ?? []), this.condition('Approved', 'AutoApproved', `Auto approving ${self ? 'self kubelet client certificate after SubjectAccessReview.' : 'kubelet client certificate after SubjectAccessReview.'}`)] };
    await this.client.update(csrRef, csr, { subresource: 'approval' });
  }

  private condition(type: string, reason: string, message: string): Condition {
    const t = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { type, status: 'True', reason, message, lastUpdateTime: t, lastTransitionTime: t } as Condition;
  }

  async run(signal: AbortSignal): Promise<void> {
    const informer = this.informer.run(signal);
    await this.informer.waitForSync(signal);
    await Promise.all([informer, this.runner.run(signal)]);
  }
}

/** Guards against a CA that cannot sign (for the start-up detail line). */
function caSubject(ca: CertAndKey): string {
  return new X509Certificate(ca.certPem).subject.split('\n').find((l) => l.startsWith('CN=')) ?? '';
}

export const csrSigningComponent: Component = {
  name: 'csr-signing',
  background: true,
  async start(ctx) {
    const client = ctx.clientFor(
      { username: `system:serviceaccount:kube-system:${CONTROLLER}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
      `nanokube/${CONTROLLER}`,
    );
    const controller = new CsrSigningController(client, ctx.pki.ca);
    const stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    const done = controller.run(signal).catch(() => undefined);
    await controller.informer.waitForSync(signal);
    return {
      detail: caSubject(ctx.pki.ca),
      async stop() {
        stop.abort();
        await done;
      },
    };
  },
};
