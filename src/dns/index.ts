// Cluster DNS: record model, server and upstream handling.
export { DnsRecords, CompiledZone, DEFAULT_DOMAIN, DEFAULT_TTL, dashedIP, reverseName, normalizeName } from './records.ts';
export type {
  DnsService,
  DnsServicePort,
  DnsEndpoint,
  DnsPod,
  DnsSnapshot,
  DnsProtocol,
  PodRecordMode,
  RecordOptions,
  LookupResult,
  RR,
} from './records.ts';
export { startDnsServer, fitUdp, udpLimit } from './server.ts';
export type { DnsServer, DnsServerOptions, DnsServerStats } from './server.ts';
export { Forwarder } from './forwarder.ts';
export type { ForwarderOptions, ForwardStats } from './forwarder.ts';
export { hostUpstreams, parseResolvConf } from './upstreams.ts';
export type { Upstream } from './upstreams.ts';
export { snapshotFromKubernetes } from './from-kubernetes.ts';
