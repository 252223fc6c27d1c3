// Versions reported by /version and `nanokube version`. kubectl dispatchers pick their client by
// major/minor, and helm checks charts' kubeVersion against gitVersion, so it must be semver.
export const kubernetesVersion = { major: '1', minor: '32', patch: 4 } as const;
export const nanokubeVersion = '0.1.0';
export const gitVersion = `v${kubernetesVersion.major}.${kubernetesVersion.minor}.${kubernetesVersion.patch}+nanokube`;

export function versionInfo() {
  return {
    major: kubernetesVersion.major,
    minor: kubernetesVersion.minor,
    gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.23.6',
    compiler: 'gc',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}
