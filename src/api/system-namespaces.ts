// Namespaces every cluster keeps: the API refuses to delete them (upstream protects default,
// kube-system and kube-public; the issue adds kube-node-lease, which holds the nodes' heartbeats).
export const IMMORTAL_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** The Forbidden message for deleting namespace `name`, or undefined when it may go. */
export function checkNamespaceDelete(name: string): string | undefined {
  return IMMORTAL_NAMESPACES.includes(name) ? `namespaces "${name}" is forbidden: this namespace may not be deleted` : undefined;
}
