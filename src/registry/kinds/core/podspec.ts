// PodSpec defaulting and the validation basics shared by pods and every pod template.

import { isObject } from '../../../api/meta.ts';
import { fieldDuplicate, fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../../../api/status.ts';
import { isDNS1123Label } from '../../../api/validation.ts';
import { arr, obj } from '../common.ts';

function defaultContainer(c: Record<string, unknown>): void {
  if (c.terminationMessagePath === undefined) c.terminationMessagePath = '/dev/termination-log';
  if (c.terminationMessagePolicy === undefined) c.terminationMessagePolicy = 'File';
  if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
    const tagged = /:[^/]+$/.test(c.image.split('@')[0]!);
    const latest = !c.image.includes('@') && (!tagged || c.image.endsWith(':latest'));
    c.imagePullPolicy = latest ? 'Always' : 'IfNotPresent';
  }
  if (c.resources === undefined) c.resources = {};
  for (const p of arr(c.ports)) if (isObject(p) && p.protocol === undefined) p.protocol = 'TCP';
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const pr = c[probe];
    if (!isObject(pr)) continue;
    pr.timeoutSeconds ??= 1;
    pr.periodSeconds ??= 10;
    pr.successThreshold ??= 1;
    pr.failureThreshold ??= 3;
    if (isObject(pr.httpGet)) pr.httpGet.scheme ??= 'HTTP';
  }
}

/** Upstream's PodSpec defaults (SetDefaults_PodSpec and friends). */
export function defaultPodSpec(spec: Record<string, unknown>): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  for (const c of [...arr(spec.containers), ...arr(spec.initContainers)]) if (isObject(c)) defaultContainer(c);
  for (const v of arr(spec.volumes)) {
    if (!isObject(v)) continue;
    for (const src of ['configMap', 'secret']) if (isObject(v[src])) (v[src] as Record<string, unknown>).defaultMode ??= 420;
    if (isObject(v.emptyDir)) continue;
    if (Object.keys(v).length === 1) v.emptyDir = {};
  }
}

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];

function validateContainers(list: unknown, path: string, required: boolean, names: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  const items = arr(list);
  if (required && items.length === 0) errs.push(fieldRequired(path));
  items.forEach((raw, i) => {
    const p = `${path}[${i}]`;
    const c = obj(raw);
    const name = c.name;
    if (typeof name !== 'string' || name === '') errs.push(fieldRequired(`${p}.name`));
    else {
      for (const m of isDNS1123Label(name)) errs.push(fieldInvalid(`${p}.name`, name, m));
      if (names.has(name)) errs.push(fieldDuplicate(`${p}.name`, name));
      names.add(name);
    }
    if (typeof c.image !== 'string' || c.image.trim() === '') errs.push(fieldRequired(`${p}.image`));
    if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(String(c.imagePullPolicy))) {
      errs.push(fieldNotSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
    }
    arr(c.ports).forEach((rp, j) => {
      const port = obj(rp);
      const pp = `${p}.ports[${j}]`;
      const cp = port.containerPort;
      if (typeof cp !== 'number' || !Number.isInteger(cp) || cp < 1 || cp > 65535) {
        errs.push(fieldInvalid(`${pp}.containerPort`, cp ?? 0, 'must be between 1 and 65535, inclusive'));
      }
      const hp = port.hostPort;
      if (hp !== undefined && hp !== 0 && (typeof hp !== 'number' || hp < 1 || hp > 65535)) {
        errs.push(fieldInvalid(`${pp}.hostPort`, hp, 'must be between 1 and 65535, inclusive'));
      }
      if (port.protocol !== undefined && !PROTOCOLS.includes(String(port.protocol))) errs.push(fieldNotSupported(`${pp}.protocol`, port.protocol, PROTOCOLS));
    });
  });
  return errs;
}

export function validatePodSpec(specRaw: unknown, path: string): FieldError[] {
  if (!isObject(specRaw)) return [fieldRequired(path)];
  const spec = specRaw;
  const names = new Set<string>();
  const errs = [
    ...validateContainers(spec.containers, `${path}.containers`, true, names),
    ...validateContainers(spec.initContainers, `${path}.initContainers`, false, names),
  ];
  if (spec.restartPolicy !== undefined && !RESTART_POLICIES.includes(String(spec.restartPolicy))) {
    errs.push(fieldNotSupported(`${path}.restartPolicy`, spec.restartPolicy, RESTART_POLICIES));
  }
  if (spec.dnsPolicy !== undefined && !DNS_POLICIES.includes(String(spec.dnsPolicy))) errs.push(fieldNotSupported(`${path}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES));
  const vnames = new Set<string>();
  arr(spec.volumes).forEach((rv, i) => {
    const v = obj(rv);
    const p = `${path}.volumes[${i}]`;
    if (typeof v.name !== 'string' || v.name === '') errs.push(fieldRequired(`${p}.name`));
    else {
      for (const m of isDNS1123Label(v.name)) errs.push(fieldInvalid(`${p}.name`, v.name, m));
      if (vnames.has(v.name)) errs.push(fieldDuplicate(`${p}.name`, v.name));
      vnames.add(v.name);
    }
  });
  const tgp = spec.terminationGracePeriodSeconds;
  if (tgp !== undefined && (typeof tgp !== 'number' || tgp < 0)) errs.push(fieldInvalid(`${path}.terminationGracePeriodSeconds`, tgp, 'must be greater than or equal to 0'));
  return errs;
}

/** Template validation for controllers: labels required + the pod spec. */
export function validatePodTemplate(templateRaw: unknown, path: string, restartPolicies = RESTART_POLICIES): FieldError[] {
  if (!isObject(templateRaw)) return [fieldRequired(path)];
  const errs = validatePodSpec(templateRaw.spec, `${path}.spec`);
  const rp = obj(templateRaw.spec).restartPolicy;
  if (rp !== undefined && !restartPolicies.includes(String(rp))) errs.push(fieldNotSupported(`${path}.spec.restartPolicy`, rp, restartPolicies));
  return errs;
}

/** Upstream's QoS class from requests/limits of all containers. */
export function qosClass(spec: Record<string, unknown>): string {
  const cs = [...arr(spec.containers), ...arr(spec.initContainers)].map(obj);
  let any = false;
  let guaranteed = true;
  for (const c of cs) {
    const r = obj(obj(c.resources).requests);
    const l = obj(obj(c.resources).limits);
    for (const res of ['cpu', 'memory']) {
      if (r[res] !== undefined || l[res] !== undefined) any = true;
      if (l[res] === undefined || (r[res] !== undefined && String(r[res]) !== String(l[res]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
