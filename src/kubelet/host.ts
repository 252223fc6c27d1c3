// Facts about the machine the node runs on, read from the OS without contacting anything: cpu,
// memory and disk capacity, the primary IPv4 address, machine/boot ids and the OS image name.
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';

export interface HostFacts {
  cpuCores: number;
  memoryBytes: number;
  /** Size and free space of the filesystem holding the kubelet's data dir. */
  diskBytes: number;
  diskAvailableBytes: number;
  memoryAvailableBytes: number;
  internalIP: string;
  hostname: string;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  /** Kubernetes' GOARCH-style name: amd64, arm64, ... */
  architecture: string;
  operatingSystem: string;
}

async function readTrimmed(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return '';
  }
}

export function goArch(arch: string = process.arch): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[arch] ?? arch;
}

/** The interface named by the IPv4 default route in /proc/net/route, if there is one. */
export function defaultRouteInterface(routeTable: string): string | undefined {
  for (const line of routeTable.split('\n').slice(1)) {
    const [iface, destination, , flags] = line.trim().split(/\s+/);
    // Destination 0.0.0.0 with the "up" flag set is the default route.
    if (iface && destination === '00000000' && (Number.parseInt(flags ?? '0', 16) & 1) === 1) return iface;
  }
  return undefined;
}

/**
 * The host's primary IPv4 address: the one on the default route's interface, else the first
 * non-internal address, else loopback. Only interface tables are read; nothing is contacted.
 */
export function primaryIPv4(interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>, routeIface: string | undefined): string {
  const v4 = (name: string) => (interfaces[name] ?? []).find((a) => a.family === 'IPv4' && !a.internal)?.address;
  if (routeIface) {
    const ip = v4(routeIface);
    if (ip) return ip;
  }
  // Docker bridges and veths are never the node's address.
  const names = Object.keys(interfaces).filter((n) => !/^(docker|br-|veth|virbr|cni|flannel)/.test(n));
  for (const name of names) {
    const ip = v4(name);
    if (ip) return ip;
  }
  return '127.0.0.1';
}

export function osImageFrom(osRelease: string): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease);
  return m?.[1] ?? 'Linux';
}

export async function readHostFacts(dataDir: string): Promise<HostFacts> {
  const [routes, machineID, productUuid, bootID, osRelease] = await Promise.all([
    readTrimmed('/proc/net/route'),
    readTrimmed('/etc/machine-id'),
    readTrimmed('/sys/class/dmi/id/product_uuid'),
    readTrimmed('/proc/sys/kernel/random/boot_id'),
    readTrimmed('/etc/os-release'),
  ]);
  let diskBytes = 0;
  let diskAvailableBytes = 0;
  try {
    const fsStats = await statfs(dataDir);
    diskBytes = fsStats.blocks * fsStats.bsize;
    diskAvailableBytes = fsStats.bavail * fsStats.bsize;
  } catch {
    // The data dir may not exist yet on the very first start; capacity then reads 0 until it does.
  }
  return {
    cpuCores: os.availableParallelism?.() ?? os.cpus().length,
    memoryBytes: os.totalmem(),
    memoryAvailableBytes: os.freemem(),
    diskBytes,
    diskAvailableBytes,
    internalIP: primaryIPv4(os.networkInterfaces(), defaultRouteInterface(routes)),
    hostname: os.hostname(),
    machineID,
    // Unreadable for non-root users on most distributions; upstream then reports it empty too.
    systemUUID: productUuid || machineID,
    bootID,
    kernelVersion: os.release(),
    osImage: osImageFrom(osRelease),
    architecture: goArch(),
    operatingSystem: os.platform() === 'win32' ? 'windows' : os.platform(),
  };
}
