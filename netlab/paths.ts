/**
 * Where the checkout is, so the lab runs the CLI and agent from it (`scripts/hostfence`)
 * rather than whatever `hostfence` is installed on the machine.
 */

/** The repository root (the folder holding scripts/hostfence). */
export const REPO_ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
/** The launcher that runs the CLI and agent from this checkout. */
export const HOSTFENCE = `${REPO_ROOT}/scripts/hostfence`;
