// Everything auth the server wires together: the token authenticators (ServiceAccount JWTs,
// bootstrap tokens), the per-request RBAC authorizer fed by informers, the review APIs, the
// TokenRequest subresource, the OIDC discovery routes, ServiceAccount admission for pods and the
// escalation checks on RBAC writes. The pieces live in apiserver/auth/; this file connects them to
// the store, the registry and the in-process client.
import type { FastifyInstance } from 'fastify';
import type { ClusterRole, PolicyRule, RoleRef } from 'kubernetes-types/rbac/v1.js';
import { ApiError, badRequest, conflict, invalid, methodNotAllowed, type FieldError } from '../api/status.ts';
import type { KubeObject } from '../api/meta.ts';
import { isPublicInfoPath, withAuthenticated, type TokenAuthenticator } from '../apiserver/auth/authenticate.ts';
import { bootstrapTokenAuthenticator, BOOTSTRAP_TOKEN_NAMESPACE, BOOTSTRAP_TOKEN_SECRET_TYPE } from '../apiserver/auth/bootstrap-tokens.ts';
import { forbiddenError, RbacCache, SYSTEM_MASTERS, subjectRulesReviewStatus, type RequestAttributes } from '../apiserver/auth/rbac.ts';
import { requestAttributes } from '../apiserver/auth/request-info.ts';
import {
  DEFAULT_EXPIRATION_SECONDS,
  registerOidcDiscovery,
  ServiceAccountTokens,
  validateTokenRequestSpec,
  type IssueRequest,
  type ServiceAccountTokenLookup,
  type TokenRequestSpec,
} from '../apiserver/auth/serviceaccount-tokens.ts';
import { admitServiceAccount } from '../apiserver/auth/serviceaccount-admission.ts';
import type { UserInfo } from '../apiserver/auth/user.ts';
import type { SubresourceHandler } from '../apiserver/api.ts';
import { objectKey } from '../apiserver/rest/keys.ts';
import { Informer } from '../client/informer.ts';
import type { Client, KubeObject as ClientObject, ResourceRef } from '../client/types.ts';
import type { Registry, RequestContext, ResourceDef } from '../registry/types.ts';
import type { Store } from '../storage/types.ts';
import { logger } from '../util/log.ts';
import type { Component } from './components.ts';

const log = logger('auth');

const RBAC = 'rbac.authorization.k8s.io';
const refs = {
  clusterRoles: { group: RBAC, version: 'v1', resource: 'clusterroles', namespaced: false },
  roles: { group: RBAC, version: 'v1', resource: 'roles', namespaced: true },
  clusterRoleBindings: { group: RBAC, version: 'v1', resource: 'clusterrolebindings', namespaced: false },
  roleBindings: { group: RBAC, version: 'v1', resource: 'rolebindings', namespaced: true },
  serviceAccounts: { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true },
  secrets: { group: '', version: 'v1', resource: 'secrets', namespaced: true },
} satisfies Record<string, ResourceRef>;

/** The identity the authorizer's own informers use: they must work before RBAC is loaded. */
export const AUTHORIZER_USER: UserInfo = { username: 'system:apiserver', groups: [SYSTEM_MASTERS] };

export interface ClusterAuthOptions {
  store: Store;
  registry: Registry;
  serviceAccountKeys: { publicKeyPem: string; privateKeyPem: string };
  /** Seconds since the epoch (token clocks). */
  now?: () => number;
}

export class ClusterAuth {
  readonly rbac = new RbacCache();
  readonly tokens: ServiceAccountTokens;
  private readonly store: Store;
  private readonly registry: Registry;
  private readonly publicKeyPem: string;
  private rbacInformers: Informer[] = [];
  private serviceAccounts: Informer | undefined;
  private bootstrapSecrets: Informer | undefined;
  private synced = false;

  constructor(opts: ClusterAuthOptions) {
    this.store = opts.store;
    this.registry = opts.registry;
    this.publicKeyPem = opts.serviceAccountKeys.publicKeyPem;
    this.tokens = new ServiceAccountTokens({ ...opts.serviceAccountKeys, ...(opts.now ? { now: opts.now } : {}) });
  }

  // --- authentication

  /** ServiceAccount JWTs, then bootstrap tokens (the loopback tokens are the server's own). */
  tokenAuthenticators(): TokenAuthenticator[] {
    return [(token) => this.authenticateServiceAccountToken(token), (token) => this.authenticateBootstrapToken(token)];
  }

  async authenticateServiceAccountToken(token: string, audiences?: string[]): Promise<UserInfo | undefined> {
    const v = this.tokens.verify(token, audiences ? { audiences } : {});
    if (!v.ok) return undefined;
    const k8s = v.claims['kubernetes.io'];
    // The ServiceAccount comes from the informer cache (hot path); objects a token is bound to
    // are rarer and read from the store, which is always current.
    const sa = await this.serviceAccount(k8s.namespace, k8s.serviceaccount.name);
    const bound = new Map<string, ClientObject | undefined>();
    if (k8s.pod) bound.set('pod', await this.storeGet('', 'pods', k8s.namespace, k8s.pod.name));
    if (k8s.secret) bound.set('secret', await this.storeGet('', 'secrets', k8s.namespace, k8s.secret.name));
    if (k8s.node && !k8s.pod) bound.set('node', await this.storeGet('', 'nodes', undefined, k8s.node.name));
    const lookup: ServiceAccountTokenLookup = {
      serviceAccount: () => sa,
      pod: () => bound.get('pod'),
      secret: () => bound.get('secret'),
      node: () => bound.get('node'),
    };
    return this.tokens.userFor(v.claims, lookup);
  }

  private authenticateBootstrapToken(token: string): UserInfo | undefined {
    const inf = this.bootstrapSecrets;
    if (!inf) return undefined;
    return bootstrapTokenAuthenticator({ secret: (ns, name) => inf.get(name, ns) })(token);
  }

  private async serviceAccount(namespace: string, name: string): Promise<ClientObject | undefined> {
    const inf = this.serviceAccounts;
    if (inf?.hasSynced()) return inf.get(name, namespace);
    return this.storeGet('', 'serviceaccounts', namespace, name);
  }

  private async storeGet(group: string, plural: string, namespace: string | undefined, name: string): Promise<ClientObject | undefined> {
    const def = this.def(group, plural);
    const kv = await this.store.get(objectKey(def, namespace, name));
    return kv ? (JSON.parse(kv.value) as ClientObject) : undefined;
  }

  private def(group: string, plural: string): ResourceDef {
    const version = group === '' ? 'v1' : (this.registry.preferredVersion(group) ?? 'v1');
    const def = this.registry.byResource(group, version, plural);
    if (!def) throw new Error(`auth: ${plural}.${group} is not registered`);
    return def;
  }

  // --- authorization

  /** True once roles and bindings have been listed; until then only system:masters gets through. */
  get ready(): boolean {
    return this.synced;
  }

  /** The 403 for a request the user may not make, or undefined when it may go on. */
  authorizeRequest(method: string, url: string, user: UserInfo): ApiError | undefined {
    if (user.groups.includes(SYSTEM_MASTERS)) return undefined;
    const attrs = requestAttributes(method, url, user);
    if (!this.synced) {
      // What system:public-info-viewer grants everyone is safe to answer while roles load.
      if (isPublicInfoPath(url)) return undefined;
      return forbiddenError(attrs, 'the authorizer is still loading roles and bindings; retry in a moment');
    }
    const d = this.rbac.authorize(attrs);
    return d.allowed ? undefined : forbiddenError(attrs, d.reason);
  }

  /** Starts the informers (as system:masters) and resolves once they have synced. */
  async start(client: Client, signal: AbortSignal): Promise<void> {
    const kinds = [
      [refs.clusterRoles, 'ClusterRole'],
      [refs.roles, 'Role'],
      [refs.clusterRoleBindings, 'ClusterRoleBinding'],
      [refs.roleBindings, 'RoleBinding'],
    ] as const;
    this.rbacInformers = kinds.map(([ref, kind]) => {
      const inf = new Informer(client, ref);
      inf.addHandlers(this.rbac.handlersFor(kind));
      return inf;
    });
    this.serviceAccounts = new Informer(client, refs.serviceAccounts);
    this.bootstrapSecrets = new Informer(client, refs.secrets, { namespace: BOOTSTRAP_TOKEN_NAMESPACE, fieldSelector: `type=${BOOTSTRAP_TOKEN_SECRET_TYPE}` });
    const all = [...this.rbacInformers, this.serviceAccounts, this.bootstrapSecrets];
    for (const inf of all) void inf.run(signal);
    await Promise.all(this.rbacInformers.map((i) => i.waitForSync(signal)));
    this.synced = true;
    log.info('authorizer ready', this.rbac.stats());
    await Promise.all([this.serviceAccounts.waitForSync(signal), this.bootstrapSecrets.waitForSync(signal)]);
  }

  /**
   * Resolves once the authorizer's caches hold every named object at (or after) the given
   * resourceVersion, so components started next are not refused for bindings just written.
   */
  async waitForObjects(wanted: Array<{ kind: 'ClusterRole' | 'ClusterRoleBinding'; name: string; resourceVersion: string }>, signal: AbortSignal, timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const informerOf = (k: string) => (k === 'ClusterRole' ? this.rbacInformers[0] : this.rbacInformers[2]);
    const seen = () =>
      wanted.every((w) => {
        const o = informerOf(w.kind)?.get(w.name);
        return o !== undefined && Number(o.metadata.resourceVersion ?? 0) >= Number(w.resourceVersion);
      });
    while (!seen()) {
      if (signal.aborted || Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
    return true;
  }

  // --- API hooks

  /** OIDC discovery routes (behind authentication and RBAC like everything else). */
  plugin(): (app: FastifyInstance) => Promise<void> {
    return async (app) => registerOidcDiscovery(app, { issuer: this.tokens.issuer, publicKeyPem: this.publicKeyPem });
  }

  /** Subresource handlers for the API: `serviceaccounts/token`. */
  subresources(): Map<string, SubresourceHandler> {
    return new Map([['/serviceaccounts/token', (ctx) => this.tokenRequest(ctx)]]);
  }

  /**
   * Replaces the registry's review kinds with real evaluations and wraps the RBAC and pod
   * strategies with escalation checks and ServiceAccount admission. The registry's own defs are
   * shared module objects, so they are copied, never mutated.
   */
  installHooks(): void {
    const reg = this.registry;
    const replace = (group: string, plural: string, patch: (def: ResourceDef) => Partial<ResourceDef>) => {
      const def = reg.byResource(group, 'v1', plural);
      if (!def) throw new Error(`auth: ${plural}.${group} is not registered`);
      reg.add({ ...def, ...patch(def) });
    };
    const review = (kind: string, apiVersion: string, answer: (o: KubeObject, ctx: RequestContext) => Record<string, unknown>) => ({
      virtualCreate: (o: KubeObject, ctx: RequestContext): KubeObject =>
        ({ kind, apiVersion, metadata: { ...(o.metadata ?? {}), creationTimestamp: null }, spec: o.spec ?? {}, status: answer(o, ctx) }) as KubeObject,
    });
    const authz = 'authorization.k8s.io';
    replace(authz, 'selfsubjectaccessreviews', () =>
      review('SelfSubjectAccessReview', `${authz}/v1`, (o, ctx) => this.accessReview('SelfSubjectAccessReview', o, ctx.user)),
    );
    replace(authz, 'subjectaccessreviews', () =>
      review('SubjectAccessReview', `${authz}/v1`, (o) => this.accessReview('SubjectAccessReview', o, specUser('SubjectAccessReview', o))),
    );
    replace(authz, 'localsubjectaccessreviews', () =>
      review('LocalSubjectAccessReview', `${authz}/v1`, (o) => {
        const ns = o.metadata?.namespace ?? '';
        const ra = objectField(o.spec, 'resourceAttributes');
        if (!ra) throw invalid('LocalSubjectAccessReview', authz, '', [{ type: 'FieldValueInvalid', field: 'spec.resourceAttributes', value: null, detail: 'resourceAttributes must be specified' }]);
        if (ra.namespace !== undefined && ra.namespace !== '' && ra.namespace !== ns) {
          throw badRequest(`spec.resourceAttributes.namespace must match namespace: ${ns}`);
        }
        ra.namespace = ns;
        return this.accessReview('LocalSubjectAccessReview', o, specUser('LocalSubjectAccessReview', o));
      }),
    );
    replace(authz, 'selfsubjectrulesreviews', () =>
      review('SelfSubjectRulesReview', `${authz}/v1`, (o, ctx) => {
        const ns = String(objectField(o, 'spec')?.namespace ?? '');
        return subjectRulesReviewStatus(this.rbac, ctx.user, ns) as unknown as Record<string, unknown>;
      }),
    );
    replace('authentication.k8s.io', 'tokenreviews', () => ({
      virtualCreate: async (o: KubeObject): Promise<KubeObject> => {
        const spec = objectField(o, 'spec') ?? {};
        const token = typeof spec.token === 'string' ? spec.token : '';
        const audiences = Array.isArray(spec.audiences) && spec.audiences.length ? (spec.audiences as string[]) : undefined;
        const status = await this.tokenReview(token, audiences);
        return { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { ...(o.metadata ?? {}), creationTimestamp: null }, spec, status } as KubeObject;
      },
    }));

    // Escalation prevention: a user may only write roles whose rules they hold, or bindings to
    // roles whose rules they hold, unless granted `escalate` / `bind` (upstream's RBAC storage).
    for (const [plural, kind] of [['roles', 'Role'], ['clusterroles', 'ClusterRole']] as const) {
      replace(RBAC, plural, (def) => ({
        prepareForCreate: (o, ctx) => {
          this.checkRoleWrite(kind, o, ctx.user);
          def.prepareForCreate?.(o, ctx);
        },
        prepareForUpdate: (o, old, ctx) => {
          // Unchanged rules (label edits, the aggregation controller's no-ops) need no check.
          if (JSON.stringify(o.rules ?? []) !== JSON.stringify(old.rules ?? []) || JSON.stringify(o.aggregationRule) !== JSON.stringify(old.aggregationRule)) {
            this.checkRoleWrite(kind, o, ctx.user);
          }
          def.prepareForUpdate?.(o, old, ctx);
        },
      }));
    }
    for (const plural of ['rolebindings', 'clusterrolebindings']) {
      replace(RBAC, plural, (def) => ({
        prepareForCreate: (o, ctx) => {
          this.checkBindingWrite(o, ctx.user);
          def.prepareForCreate?.(o, ctx);
        },
        prepareForUpdate: (o, old, ctx) => {
          if (JSON.stringify(o.roleRef) !== JSON.stringify(old.roleRef)) this.checkBindingWrite(o, ctx.user);
          def.prepareForUpdate?.(o, old, ctx);
        },
      }));
    }

    // ServiceAccount admission: runs before the pod's own strategy and defaults.
    replace('', 'pods', (def) => ({
      prepareForCreate: (o, ctx) => {
        admitServiceAccount(o, (ns, name) => this.serviceAccounts?.get(name, ns));
        def.prepareForCreate?.(o, ctx);
      },
    }));
  }

  private checkRoleWrite(kind: 'Role' | 'ClusterRole', o: KubeObject, user: UserInfo): void {
    const rules = Array.isArray(o.rules) ? (o.rules as PolicyRule[]) : [];
    const hasAggregationRule = kind === 'ClusterRole' && (o as unknown as ClusterRole).aggregationRule != null;
    const err = this.rbac.checkEscalation(user, kind === 'Role' ? (o.metadata?.namespace ?? '') : '', rules, { kind, name: o.metadata?.name ?? '', hasAggregationRule });
    if (err) throw err;
  }

  private checkBindingWrite(o: KubeObject, user: UserInfo): void {
    const roleRef = o.roleRef as RoleRef | undefined;
    if (!roleRef?.kind || !roleRef.name) return; // validation answers with a 422
    const err = this.rbac.checkBind(user, roleRef, o.metadata?.namespace ?? '', o.metadata?.name ?? '');
    if (err) throw err;
  }

  /** status of a (Self/Local)SubjectAccessReview. */
  private accessReview(kind: string, o: KubeObject, user: UserInfo): Record<string, unknown> {
    const spec = objectField(o, 'spec') ?? {};
    const ra = objectField(spec, 'resourceAttributes');
    const nra = objectField(spec, 'nonResourceAttributes');
    if ((ra === undefined) === (nra === undefined)) {
      throw invalid(kind, 'authorization.k8s.io', '', [
        { type: 'FieldValueInvalid', field: 'spec.resourceAttributes', value: null, detail: 'exactly one of nonResourceAttributes or resourceAttributes must be specified' },
      ]);
    }
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    const attrs: RequestAttributes = ra
      ? { user, verb: str(ra.verb), isResourceRequest: true, apiGroup: str(ra.group), resource: str(ra.resource), subresource: str(ra.subresource), namespace: str(ra.namespace), name: str(ra.name), path: '' }
      : { user, verb: str(nra?.verb), isResourceRequest: false, apiGroup: '', resource: '', subresource: '', namespace: '', name: '', path: str(nra?.path) };
    const d = this.rbac.authorize(attrs);
    const status: Record<string, unknown> = { allowed: d.allowed };
    if (d.reason) status.reason = d.reason;
    return status;
  }

  private async tokenReview(token: string, audiences: string[] | undefined): Promise<Record<string, unknown>> {
    const wanted = audiences ?? [this.tokens.issuer];
    let user = await this.authenticateServiceAccountToken(token, wanted);
    // Bootstrap tokens carry no audience: they only answer reviews for the API server's own.
    if (!user && !audiences) user = this.authenticateBootstrapToken(token);
    if (!user) return { user: {}, ...(audiences ? { audiences: [] } : {}) };
    const u: Record<string, unknown> = { username: user.username, groups: withAuthenticated(user.groups) };
    if (user.uid) u.uid = user.uid;
    if (user.extra) u.extra = user.extra;
    return { authenticated: true, user: u, audiences: wanted };
  }

  /** POST serviceaccounts/<name>/token: a TokenRequest answered with a signed JWT. */
  private async tokenRequest(ctx: Parameters<SubresourceHandler>[0]) {
    const { req, method, rest } = ctx;
    if (method !== 'POST') throw methodNotAllowed(method.toLowerCase(), 'serviceaccounts/token');
    const namespace = req.namespace ?? '';
    const name = req.name ?? '';
    const body = (req.body ?? {}) as { metadata?: Record<string, unknown>; spec?: TokenRequestSpec };
    const spec: TokenRequestSpec = body.spec ?? {};
    const errors: FieldError[] = validateTokenRequestSpec(spec);
    if (errors.length) throw invalid('TokenRequest', 'authentication.k8s.io', name, errors);
    const get = async (group: string, plural: string, ns: string | undefined, n: string) =>
      (await rest.get({ def: this.def(group, plural), ...(ns !== undefined ? { namespace: ns } : {}), name: n, query: {}, user: req.user })).body as ClientObject;
    const sa = await get('', 'serviceaccounts', namespace, name);
    const issue: IssueRequest = { namespace, serviceAccount: { name, uid: sa.metadata.uid ?? '' } };
    if (spec.audiences?.length) issue.audiences = [...spec.audiences];
    issue.expirationSeconds = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    const ref = spec.boundObjectRef;
    if (ref?.name) {
      const kind = ref.kind ?? '';
      const target = kind === 'Node' ? await get('', 'nodes', undefined, ref.name) : await get('', kind === 'Pod' ? 'pods' : 'secrets', namespace, ref.name);
      const uid = target.metadata.uid ?? '';
      if (ref.uid && ref.uid !== uid) {
        throw conflict({ group: '', resource: `${kind.toLowerCase()}s` }, ref.name, `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      }
      const bound = { name: ref.name, uid };
      if (kind === 'Pod') {
        issue.pod = bound;
        const nodeName = (target.spec as { nodeName?: string } | undefined)?.nodeName;
        if (nodeName) {
          const node = await this.storeGet('', 'nodes', undefined, nodeName);
          issue.node = { name: nodeName, uid: node?.metadata.uid ?? '' };
        }
      } else if (kind === 'Secret') issue.secret = bound;
      else issue.node = bound;
    }
    const issued = this.tokens.issue(issue);
    const outSpec: Record<string, unknown> = { audiences: issued.claims.aud, expirationSeconds: issue.expirationSeconds, boundObjectRef: ref ?? null };
    const reply = {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { ...(body.metadata ?? {}), name, namespace, creationTimestamp: sa.metadata.creationTimestamp ?? null },
      spec: outSpec,
      status: { token: issued.token, expirationTimestamp: issued.expirationTimestamp },
    };
    return { code: 201, body: reply as unknown as KubeObject, warnings: [] };
  }
}

function objectField(o: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof o !== 'object' || o === null) return undefined;
  const v = (o as Record<string, unknown>)[key];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** The user a SubjectAccessReview asks about (spec.user/groups/uid/extra, taken as given). */
function specUser(kind: string, o: KubeObject): UserInfo {
  const spec = objectField(o, 'spec') ?? {};
  const username = typeof spec.user === 'string' ? spec.user : '';
  const groups = Array.isArray(spec.groups) ? (spec.groups as unknown[]).filter((g): g is string => typeof g === 'string') : [];
  if (!username && groups.length === 0) {
    throw invalid(kind, 'authorization.k8s.io', '', [{ type: 'FieldValueInvalid', field: 'spec.user', value: '', detail: 'at least one of user or group must be specified' }]);
  }
  const user: UserInfo = { username, groups };
  if (typeof spec.uid === 'string' && spec.uid) user.uid = spec.uid;
  const extra = objectField(spec, 'extra');
  if (extra) user.extra = extra as Record<string, string[]>;
  return user;
}


/** Loads the authorizer's caches before anything that is not system:masters starts. */
export const authorizerComponent: Component = {
  name: 'authorizer',
  async start(ctx) {
    await ctx.auth.start(ctx.clientFor(AUTHORIZER_USER, 'nanokube/authorizer'), ctx.signal);
    const s = ctx.auth.rbac.stats();
    return { detail: `${s.clusterRoles + s.roles} roles, ${s.clusterRoleBindings + s.roleBindings} bindings` };
  },
};
