// Removing every Docker object of a cluster, found by its `nanokube.cluster` label (never by name
// patterns, so another cluster's or the user's own containers are never touched).
import Docker from 'dockerode';

export const clusterLabel = 'nanokube.cluster';

export interface CleanupReport {
  containers: number;
  networks: number;
  volumes: number;
}

export async function removeClusterDockerObjects(cluster: string, docker: Docker = new Docker()): Promise<CleanupReport> {
  const filters = JSON.stringify({ label: [`${clusterLabel}=${cluster}`] });
  const report: CleanupReport = { containers: 0, networks: 0, volumes: 0 };
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(
    containers.map(async (c) => {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
      report.containers++;
    }),
  );
  // Networks can only go once their containers are gone.
  const networks = await docker.listNetworks({ filters });
  for (const n of networks) {
    await docker.getNetwork(n.Id).remove();
    report.networks++;
  }
  const volumes = await docker.listVolumes({ filters });
  for (const v of volumes.Volumes ?? []) {
    await docker.getVolume(v.Name).remove();
    report.volumes++;
  }
  return report;
}
