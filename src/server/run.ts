// The server process: starts each component in order, each gated on the one before, and stops them
// in reverse. `nanokube server` runs this in the foreground; `nanokube start` runs it in the background.
import fs from 'node:fs';
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { ensurePki } from '../pki/index.ts';
import { openStore } from '../storage/index.ts';
import type { Store } from '../storage/types.ts';
import { startApiServer, type RunningApiServer } from '../apiserver/server.ts';
import { HealthChecks } from '../apiserver/health.ts';
import { LoopbackTokens, startLoopback } from '../apiserver/loopback.ts';
import type { UserInfo } from '../apiserver/auth/user.ts';
import { HttpClient } from '../client/http-client.ts';
import type { Client } from '../client/types.ts';
import { pingDocker } from '../runtime/docker/connect.ts';
import { ensureClusterNetwork, gatewayOf } from './cluster-network.ts';
import { nodeKubeletLocator } from '../apiserver/streaming/kubelet.ts';
import { KubeletStreamingServer } from '../kubeletserver/server.ts';
import { createDockerRuntime } from '../runtime/docker/runtime.ts';
import { buildKubeconfig, writeKubeconfig } from '../config/kubeconfig.ts';
import { dataLayout, type DataLayout } from '../config/paths.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { logger } from '../util/log.ts';
import { acquirePidFile } from './pidfile.ts';
import { apiPlugins } from './plugins.ts';
import { components } from './components.ts';
import { builtinRegistry } from '../registry/index.ts';
import { installServiceAllocation } from '../network/service-allocation.ts';
import { ClusterAuth } from './auth.ts';

const log = logger('server');

const isLoopback = (address: string): boolean => address === 'localhost' || address.startsWith('127.') || address === '::1';

export interface ServerOptions {
  name: string;
  dataDir: string;
  apiPort: number;
  bindAddress: string;
  nodeName: string;
  datastoreEndpoint?: string;
  /** Skip the Docker check (API-only mode for tests of the API machinery). */
  requireDocker: boolean;
}

/** Start-up progress, shown by `nanokube start` as each step finishes. */
export interface ProgressSink {
  step(name: string, ms: number, detail?: string): void;
}

export interface RuntimeInfo {
  pid: number;
  apiPort: number;
  apiServer: string;
  startedAt: string;
  readyMs: number;
}

export interface RunningServer {
  info: RuntimeInfo;
  layout: DataLayout;
  /** Resolves when the server has stopped (after stop() or a fatal error). */
  stop(): Promise<void>;
}

export async function runServer(opts: ServerOptions, progress: ProgressSink): Promise<RunningServer> {
  const started = performance.now();
  const layout = dataLayout(opts.dataDir);
  fs.mkdirSync(layout.dataDir, { recursive: true, mode: 0o700 });
  const releasePid = acquirePidFile(layout.pidFile);
  const stack: Array<{ name: string; stop: () => Promise<void> }> = [{ name: 'pidfile', stop: async () => releasePid() }];
  const stopAll = async () => {
    while (stack.length > 0) {
      const c = stack.pop()!;
      try {
        await c.stop();
      } catch (e) {
        log.error('stop failed', { component: c.name, error: e });
      }
    }
  };
  const timed = async <T>(name: string, fn: () => Promise<T>, detail?: (v: T) => string): Promise<T> => {
    const t0 = performance.now();
    const v = await fn();
    progress.step(name, performance.now() - t0, detail?.(v));
    return v;
  };

  try {
    if (opts.requireDocker) {
      await timed('docker', () => pingDocker(), (d) => `engine ${d.version}`);
    }
    const network = await timed(
      'network',
      () => ensureClusterNetwork({ cluster: opts.name, dataDir: layout.dataDir, useDocker: opts.requireDocker }),
      (n) => `pods ${n.clusterCIDR}, services ${n.serviceCIDR}`,
    );
    const pki = await timed(
      'pki',
      () => ensurePki(layout.pkiDir, { nodeName: opts.nodeName, extraSANs: [os.hostname()], serviceIP: network.kubernetesServiceIP }),
      (p) => (p.generated.length > 0 ? `generated ${p.generated.join(', ')}` : 'reused'),
    );
    const store: Store = await timed('store', () => openStore({ dataDir: layout.dataDir, endpoint: opts.datastoreEndpoint }));
    stack.push({ name: 'store', stop: () => store.close() });

    const health = new HealthChecks();
    health.add('ping', () => {});
    health.add('log', () => {});
    health.add('etcd', async () => {
      await store.currentRevision();
    });
    let shuttingDown = false;
    health.addReadiness('shutdown', () => {
      if (shuttingDown) throw new Error('shutting down');
    });

    const registry = builtinRegistry();
    // ClusterIPs and NodePorts are handed out inside Service create/update, from state rebuilt here.
    const allocation = await installServiceAllocation(registry, store, { serviceCIDR: network.serviceCIDR });
    stack.push({ name: 'service-allocation', stop: () => allocation.stop() });
    const loopbackTokens = new LoopbackTokens();
    const auth = new ClusterAuth({ store, registry, serviceAccountKeys: pki.serviceAccount });
    auth.installHooks();
    const api: RunningApiServer = await timed(
      'apiserver',
      () =>
        startApiServer({
          host: opts.bindAddress,
          port: opts.apiPort,
          // Pods reach the API through the `kubernetes` Service, which leads to the bridge gateway:
          // listen there too when the host-facing listener is loopback only (the default).
          ...(opts.requireDocker && isLoopback(opts.bindAddress) ? { extraHosts: [gatewayOf(network.nodePodCIDR)] } : {}),
          tls: { certPem: pki.apiServer.certPem, keyPem: pki.apiServer.keyPem, caPem: pki.ca.certPem },
          health,
          tokenAuthenticators: [loopbackTokens.authenticator, ...auth.tokenAuthenticators()],
          authorize: (method, url, user) => auth.authorizeRequest(method, url, user),
          plugins: apiPlugins({
            store,
            registry,
            subresources: auth.subresources(),
            extra: [auth.plugin()],
            streaming: {
              store,
              registry,
              // This node's pods are served in-process by the same handler its kubelet port would use.
              kubelets: nodeKubeletLocator({
                store,
                registry,
                ...(opts.requireDocker ? { local: { nodeName: opts.nodeName, server: new KubeletStreamingServer(createDockerRuntime({ cluster: opts.name })) } } : {}),
                clientTls: { certPem: pki.kubeletClient.certPem, keyPem: pki.kubeletClient.keyPem, caPem: pki.ca.certPem },
              }),
              tokenAuthenticators: [loopbackTokens.authenticator, ...auth.tokenAuthenticators()],
              authorize: (attrs) => {
                const denied = auth.authorizeRequest(attrs.verb === 'create' ? 'POST' : 'GET', attrs.path, attrs.user);
                return denied ? { allowed: false, reason: denied.message } : { allowed: true, reason: '' };
              },
            },
          }),
        }),
      (a) => `https://127.0.0.1:${a.port}`,
    );
    stack.push({
      name: 'apiserver',
      stop: async () => {
        shuttingDown = true;
        await api.close();
      },
    });

    const loopback = await startLoopback(api.app);
    stack.push({ name: 'loopback', stop: () => loopback.close() });
    // Each in-process component gets a client with its own identity, as upstream's components
    // each have their own credentials; RBAC then treats them like anyone else.
    const clients: HttpClient[] = [];
    const clientFor = (user: UserInfo, userAgent: string): Client => {
      const c = new HttpClient({ transport: { kind: 'unix', socketPath: loopback.socketPath, token: loopbackTokens.issue(user) }, userAgent });
      clients.push(c);
      return c;
    };
    stack.push({ name: 'clients', stop: async () => clients.forEach((c) => c.close()) });

    const componentsAbort = new AbortController();
    // Every component and informer listens on this one signal; that is expected, not a leak.
    setMaxListeners(0, componentsAbort.signal);
    stack.push({ name: 'components-signal', stop: async () => componentsAbort.abort() });
    const background: Array<Promise<void>> = [];
    for (const component of components) {
      if (component.enabled && !component.enabled(opts)) continue;
      const ctx = { options: opts, layout, network, pki, clientFor, health, auth, registry, signal: componentsAbort.signal };
      if (component.background) {
        // Its stop is registered now so a stop during start-up still waits for it.
        let stopFn: (() => Promise<void>) | undefined;
        const t0 = performance.now();
        const starting = component.start(ctx).then(
          (s) => {
            stopFn = s?.stop;
            log.info('component ready', { name: component.name, ms: Math.round(performance.now() - t0), detail: s?.detail });
          },
          (e) => log.error('component failed to start', { name: component.name, error: e }),
        );
        background.push(starting);
        stack.push({ name: component.name, stop: async () => { await starting; await stopFn?.(); } });
        progress.step(component.name, performance.now() - t0, 'starting in the background');
        continue;
      }
      const started = await timed(component.name, () => component.start(ctx), (s) => (s && s.detail) || '');
      if (started?.stop) stack.push({ name: component.name, stop: started.stop });
    }

    const apiServer = `https://127.0.0.1:${api.port}`;
    writeKubeconfig(
      layout.kubeconfigFile,
      buildKubeconfig({
        name: `nanokube-${opts.name}`,
        server: apiServer,
        caPem: pki.ca.certPem,
        clientCertPem: pki.admin.certPem,
        clientKeyPem: pki.admin.keyPem,
      }),
    );
    const info: RuntimeInfo = {
      pid: process.pid,
      apiPort: api.port,
      apiServer,
      startedAt: new Date().toISOString(),
      readyMs: Math.round(performance.now() - started),
    };
    writeFileAtomic(layout.runtimeFile, JSON.stringify(info, null, 2) + '\n', 0o600);
    stack.push({ name: 'runtime-file', stop: async () => fs.rmSync(layout.runtimeFile, { force: true }) });
    const cpu = process.cpuUsage();
    // CPU time is steadier than wall time on a busy machine: compare start-up work with it.
    log.info('ready', { apiServer, readyMs: info.readyMs, cpuMs: Math.round((cpu.user + cpu.system) / 1000) });
    return { info, layout, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
