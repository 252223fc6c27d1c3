// The service proxy (kube-proxy's job): Services and EndpointSlices from informers become one
// iptables-restore per sync. Bursts of changes are coalesced (a sync waits `minIntervalMs` after
// the previous one started), so a Deployment rollout costs a few syncs, not one per pod. Each sync
// also turns on hairpin on the bridge's ports (new pods' veths appear all the time) and LoadBalancer
// Services get their status and, when the port is free on the host, a TCP listener (servicelb-like).
import { readdirSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import type { Client } from '../client/types.ts';
import type { SharedInformers } from '../client/shared-informers.ts';
import type { Informer } from '../client/informer.ts';
import { EventRecorder } from '../controller/events.ts';
import { removeClusterRules, syncProxyRules, type IptablesRunner } from '../proxy/index.ts';
import { logger } from '../util/log.ts';
import { endpointSlicesRef, servicesRef, type SliceObj, type SvcObj } from './endpoint-model.ts';
import { buildProxyState } from './proxy-state.ts';

const log = logger('network/proxy');

export interface ServiceProxyOptions {
  client: Client;
  informers: SharedInformers;
  runner: IptablesRunner;
  tag: string;
  podCIDR: string;
  serviceCIDR: string;
  egressInterface?: string;
  /** The cluster bridge: hairpin on its ports, route_localnet on it (NodePort via 127.0.0.1). */
  bridge?: string;
  /** The address LoadBalancer Services report (status.loadBalancer.ingress). */
  nodeIP?: string;
  /** Open host listeners for LoadBalancer ports (default true). */
  loadBalancerListeners?: boolean;
  /** Earliest start of a sync after the previous one started (default 50 ms). */
  minIntervalMs?: number;
  /** Where /proc/sys and /sys are (tests point them elsewhere). */
  sysRoot?: string;
}

export interface SyncStats {
  syncs: number;
  failures: number;
  lastSyncMs: number;
  /** From the first change of a burst to the end of the sync that applied it. */
  lastLatencyMs: number;
}

export class ServiceProxy {
  readonly services: Informer<SvcObj>;
  readonly slices: Informer<SliceObj>;
  readonly stats: SyncStats = { syncs: 0, failures: 0, lastSyncMs: 0, lastLatencyMs: 0 };
  private dirtySince: number | undefined;
  private wake: (() => void) | undefined;
  private readonly listeners = new Map<string, { server: net.Server; port: number }>();
  private readonly busyReported = new Set<string>();
  private readonly recorder: EventRecorder;
  private synced: Array<() => void> = [];

  constructor(private readonly opts: ServiceProxyOptions) {
    this.services = opts.informers.informerFor<SvcObj>(servicesRef);
    this.slices = opts.informers.informerFor<SliceObj>(endpointSlicesRef);
    this.recorder = new EventRecorder(opts.client, 'service-proxy');
    const touch = () => this.markDirty();
    for (const inf of [this.services, this.slices] as Informer[]) inf.addHandlers({ onAdd: touch, onUpdate: touch, onDelete: touch });
  }

  markDirty(): void {
    this.dirtySince ??= performance.now();
    this.wake?.();
  }

  /** Resolves after the next sync that started after this call. */
  nextSync(): Promise<void> {
    this.markDirty();
    return new Promise((r) => this.synced.push(r));
  }

  /** Sync loop until the signal aborts; then removes our rules and listeners. */
  async run(signal: AbortSignal): Promise<void> {
    const minInterval = this.opts.minIntervalMs ?? 50;
    let lastStart = -Infinity;
    let backoff = 0;
    await Promise.all([this.services.waitForSync(signal), this.slices.waitForSync(signal)]).catch(() => undefined);
    this.markDirty();
    while (!signal.aborted) {
      if (this.dirtySince === undefined) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        this.wake = undefined;
        continue;
      }
      const wait = Math.max(lastStart + minInterval - performance.now(), backoff);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (signal.aborted) break;
      const since = this.dirtySince;
      this.dirtySince = undefined;
      const waiters = this.synced;
      this.synced = [];
      lastStart = performance.now();
      try {
        await this.syncOnce();
        this.stats.syncs++;
        this.stats.lastSyncMs = performance.now() - lastStart;
        this.stats.lastLatencyMs = performance.now() - since;
        backoff = 0;
        for (const w of waiters) w();
      } catch (e) {
        this.stats.failures++;
        this.dirtySince ??= since;
        this.synced.push(...waiters);
        backoff = Math.min(Math.max(backoff * 2, 200), 10_000);
        log.warn('proxy sync failed; retrying', { error: e, retryInMs: backoff });
      }
    }
    await this.cleanup();
  }

  async syncOnce(): Promise<void> {
    const services = this.services.list();
    const state = buildProxyState({
      tag: this.opts.tag,
      podCIDR: this.opts.podCIDR,
      serviceCIDR: this.opts.serviceCIDR,
      ...(this.opts.egressInterface ? { egressInterface: this.opts.egressInterface } : {}),
      services,
      slices: this.slices.list(),
    });
    await syncProxyRules(this.opts.runner, state);
    this.hostSettings();
    await this.loadBalancers(services);
  }

  private hostSettings(): void {
    const bridge = this.opts.bridge;
    if (!bridge) return;
    const root = this.opts.sysRoot ?? '';
    // A pod reaching itself through a Service: the bridge must send the frame back out the port
    // it came in on (Docker leaves hairpin off).
    let ports: string[] = [];
    try {
      ports = readdirSync(`${root}/sys/class/net/${bridge}/brif`);
    } catch {
      return; // the bridge is not there (yet)
    }
    for (const p of ports) writeIfDifferent(`${root}/sys/class/net/${bridge}/brif/${p}/hairpin_mode`, '1');
    // NodePorts on 127.0.0.1: a DNATed packet with a loopback source may then leave by the bridge.
    writeIfDifferent(`${root}/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, '1');
  }

  private async loadBalancers(services: SvcObj[]): Promise<void> {
    const wanted = new Set<string>();
    for (const svc of services) {
      if (svc.spec?.type !== 'LoadBalancer') continue;
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      const ip = this.opts.nodeIP;
      if (ip) {
        const ingress = svc.status?.loadBalancer?.ingress ?? [];
        if (ingress.length !== 1 || ingress[0]?.ip !== ip) {
          await this.opts.client
            .patch(servicesRef, svc.metadata.name!, 'merge', { status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } }, { namespace: svc.metadata.namespace!, subresource: 'status' })
            .catch((e: unknown) => log.warn('LoadBalancer status not written', { service: key, error: e }));
        }
      }
      if (this.opts.loadBalancerListeners === false) continue;
      for (const sp of svc.spec.ports ?? []) {
        if ((sp.protocol ?? 'TCP') !== 'TCP') continue;
        const lk = `${key}:${sp.port}`;
        wanted.add(lk);
        if (!this.listeners.has(lk)) await this.listen(svc, lk, sp.port, sp.name ?? '');
      }
    }
    for (const [lk, l] of this.listeners) {
      if (wanted.has(lk)) continue;
      l.server.close();
      this.listeners.delete(lk);
    }
    for (const k of this.busyReported) if (!wanted.has(k)) this.busyReported.delete(k);
  }

  private async listen(svc: SvcObj, lk: string, port: number, portName: string): Promise<void> {
    const ns = svc.metadata.namespace!;
    const name = svc.metadata.name!;
    const server = net.createServer((socket) => {
      const target = this.pickEndpoint(ns, name, portName);
      if (!target) {
        socket.destroy();
        return;
      }
      const upstream = net.connect(target.port, target.ip);
      socket.pipe(upstream).pipe(socket);
      const close = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', close);
      upstream.on('error', close);
    });
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen({ port, host: '0.0.0.0', exclusive: true }, () => resolve(true));
    });
    if (!ok) {
      if (!this.busyReported.has(lk)) {
        this.busyReported.add(lk);
        this.recorder.event(svc, 'Warning', 'PortInUse', `port ${port} is in use on the host: no host listener for this LoadBalancer port (the node IP and NodePort still work)`);
      }
      return;
    }
    server.on('error', (e) => log.warn('LoadBalancer listener failed', { service: lk, error: e }));
    this.listeners.set(lk, { server, port });
  }

  private pickEndpoint(ns: string, name: string, portName: string): { ip: string; port: number } | undefined {
    const ready: Array<{ ip: string; port: number }> = [];
    for (const s of this.slices.list((s) => s.metadata.namespace === ns && s.metadata.labels?.['kubernetes.io/service-name'] === name)) {
      const p = (s.ports ?? []).find((x) => (x.name ?? '') === portName && (x.protocol ?? 'TCP') === 'TCP');
      if (p?.port === undefined) continue;
      for (const ep of s.endpoints ?? []) if (ep.conditions?.ready !== false && ep.addresses[0]) ready.push({ ip: ep.addresses[0], port: p.port });
    }
    return ready[Math.floor(Math.random() * ready.length)];
  }

  /** Remove our chains and listeners (on stop). */
  async cleanup(): Promise<void> {
    for (const l of this.listeners.values()) l.server.close();
    this.listeners.clear();
    try {
      await removeClusterRules(this.opts.runner, this.opts.tag);
    } catch (e) {
      log.warn('could not remove service rules', { error: e });
    }
  }
}

function writeIfDifferent(path: string, value: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === value) return;
    writeFileSync(path, value);
  } catch {
    // The port went away between readdir and write, or /proc/sys is read-only: nothing to do.
  }
}

/** The IPv4 address of an interface (the node IP reported for LoadBalancers). */
export function interfaceIPv4(name: string | undefined): string | undefined {
  if (!name) return undefined;
  return os.networkInterfaces()[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
}
