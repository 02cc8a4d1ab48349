// Types of check-node.mjs, which stays plain JS so that an old Node can run it.
/** The one-line complaint when `version` (default: this Node's) is below engines.node, else undefined. */
export function nodeProblem(version?: string): string | undefined;
/** Prints the complaint and exits 2 when this Node is too old. */
export function exitUnlessSupported(): void;
