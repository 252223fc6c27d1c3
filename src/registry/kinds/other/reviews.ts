// Create-only review kinds. Until the authentication/authorization issue lands, access reviews
// allow system:masters and deny everyone else, and TokenReviews authenticate nothing; both say so
// in `status` so callers are not misled. SelfSubjectReview already answers from request.user.

import type { KubeObject } from '../../../api/meta.ts';
import type { UserInfo } from '../../../apiserver/auth/user.ts';
import { obj, simpleKind } from '../common.ts';
import type { RequestContext, ResourceDef } from '../../types.ts';

const createOnly = ['create'] as const;

function review(group: string, kind: string, plural: string, namespaced: boolean, answer: (o: KubeObject, ctx: RequestContext) => Record<string, unknown>): ResourceDef {
  return simpleKind({
    group,
    version: 'v1',
    kind,
    plural,
    namespaced,
    verbs: [...createOnly],
    extra: {
      virtualCreate: (o, ctx) => {
        const meta = { ...(o.metadata ?? {}), creationTimestamp: null };
        return { kind, apiVersion: `${group}/v1`, metadata: meta, spec: o.spec ?? {}, status: answer(o, ctx) } as KubeObject;
      },
    },
  });
}

const isMaster = (groups: readonly string[] | undefined) => (groups ?? []).includes('system:masters');

const accessStatus = (user: Pick<UserInfo, 'groups'>) =>
  isMaster(user.groups)
    ? { allowed: true, reason: 'system:masters has full access' }
    : { allowed: false, reason: 'RBAC evaluation is not available yet; only system:masters is allowed' };

const specUser = (o: KubeObject) => {
  const spec = obj(o.spec);
  return { groups: Array.isArray(spec.groups) ? (spec.groups as string[]) : [] };
};

export const selfsubjectreviews = simpleKind({
  group: 'authentication.k8s.io',
  version: 'v1',
  kind: 'SelfSubjectReview',
  plural: 'selfsubjectreviews',
  namespaced: false,
  verbs: [...createOnly],
  extra: {
    virtualCreate: (o, ctx) => {
      const userInfo: Record<string, unknown> = { username: ctx.user.username, groups: [...ctx.user.groups] };
      if (ctx.user.uid) userInfo.uid = ctx.user.uid;
      if (ctx.user.extra) userInfo.extra = ctx.user.extra;
      return { kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: { ...(o.metadata ?? {}), creationTimestamp: null }, status: { userInfo } } as KubeObject;
    },
  },
});

export const tokenreviews = review('authentication.k8s.io', 'TokenReview', 'tokenreviews', false, () => ({
  user: {},
  error: 'token review is not available yet',
}));

export const selfsubjectaccessreviews = review('authorization.k8s.io', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false, (_o, ctx) => accessStatus(ctx.user));
export const subjectaccessreviews = review('authorization.k8s.io', 'SubjectAccessReview', 'subjectaccessreviews', false, (o) => accessStatus(specUser(o)));
export const localsubjectaccessreviews = review('authorization.k8s.io', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true, (o) => accessStatus(specUser(o)));
export const selfsubjectrulesreviews = review('authorization.k8s.io', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', false, (_o, ctx) =>
  isMaster(ctx.user.groups)
    ? { resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }], incomplete: false }
    : { resourceRules: [], nonResourceRules: [], incomplete: true, evaluationError: 'RBAC evaluation is not available yet' },
);
