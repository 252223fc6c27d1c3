// What Deployments, ReplicaSets, StatefulSets and DaemonSets share: a required selector that must
// match the template's labels and may not change, a pod template, replicas >= 0.

import { isObject, type KubeObject } from '../../../api/meta.ts';
import { selectorFromObject, type LabelSelectorObject } from '../../../api/labels.ts';
import { fieldInvalid, fieldRequired, type FieldError } from '../../../api/status.ts';
import { formatLabelSelector } from '../../../api/labels.ts';
import { obj } from '../common.ts';
import { defaultPodSpec, validatePodTemplate } from '../core/podspec.ts';

export function defaultWorkload(o: KubeObject, replicas: boolean): Record<string, unknown> {
  const spec = obj(o.spec);
  if (replicas) spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  const tpl = obj(spec.template);
  // Go clients (kubectl ≤1.32 `rollout undo`, older controllers) send the zero metav1.Time as
  // `creationTimestamp: null`; it means "unset", and keeping it would make the template differ
  // from the ReplicaSet's it came from (a new revision instead of reusing the old one).
  if (isObject(tpl.metadata) && tpl.metadata.creationTimestamp === null) delete tpl.metadata.creationTimestamp;
  if (isObject(tpl.spec)) defaultPodSpec(tpl.spec);
  o.spec = spec;
  return spec;
}

export function validateWorkload(o: KubeObject, restartPolicies: string[] = ['Always']): FieldError[] {
  const spec = obj(o.spec);
  const errs: FieldError[] = [];
  const sel = spec.selector;
  if (!isObject(sel)) {
    errs.push(fieldRequired('spec.selector'));
  } else {
    const empty = !isObject(sel.matchLabels) || Object.keys(sel.matchLabels).length === 0;
    const noExpr = !Array.isArray(sel.matchExpressions) || sel.matchExpressions.length === 0;
    if (empty && noExpr) errs.push(fieldInvalid('spec.selector', sel, 'empty selector is invalid for deployment'));
    else {
      const labels = obj(obj(obj(spec.template).metadata).labels) as Record<string, string>;
      try {
        if (!selectorFromObject(sel as LabelSelectorObject).matches(labels)) {
          errs.push(fieldInvalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
        }
      } catch (e) {
        errs.push(fieldInvalid('spec.selector', sel, (e as Error).message));
      }
    }
  }
  if (spec.replicas !== undefined && (typeof spec.replicas !== 'number' || spec.replicas < 0)) {
    errs.push(fieldInvalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  }
  errs.push(...validatePodTemplate(spec.template, 'spec.template', restartPolicies));
  return errs;
}

export function validateSelectorImmutable(o: KubeObject, old: KubeObject): FieldError[] {
  const a = obj(o.spec).selector;
  const b = obj(old.spec).selector;
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [fieldInvalid('spec.selector', a, 'field is immutable')];
}

export const selectorCell = (o: KubeObject) => formatLabelSelector(obj(o.spec).selector as LabelSelectorObject | undefined);
