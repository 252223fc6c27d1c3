// Service proxy: iptables rules for ClusterIP/NodePort/external IPs, and their lifecycle.
export { buildRules, buildRemoval, parseIptablesSave, emptyExisting, probability } from './rules.ts';
export type { ProxyState, ProxyServicePort, ProxyEndpoint, ProxyProtocol, ExistingRules, TableName } from './rules.ts';
export { clusterTag, chainNames, isClusterTag, MAX_CHAIN_NAME } from './naming.ts';
export type { ChainNames } from './naming.ts';
export {
  createIptablesRunner,
  detectIptablesBackend,
  defaultRouteInterface,
  hostDefaultRouteInterface,
  execCommand,
  IptablesError,
} from './iptables.ts';
export type { IptablesRunner, IptablesBackend, BackendDetection, RunnerOptions, Exec, ExecResult } from './iptables.ts';
export { syncProxyRules, removeClusterRules } from './sync.ts';
export type { SyncResult } from './sync.ts';
