/**
 * One agent per network namespace. Two agents programming the same `table inet hostfence`
 * fight, each undoing the other's changes with ERRORs (issue 10), so the agent takes an
 * exclusive lock on a file under /run before touching nftables and holds it until it exits
 * (the kernel drops the lock even on kill -9). The lock is per network namespace, not per
 * host name, because the table is: two agents in one namespace fight whatever host names
 * they were given, while agents in separate namespaces (as in the system tests) do not.
 */
import { clip } from "../log/quote.ts";

/** Where the lock files live; /run is emptied at boot, and is writable under the unit. */
export const LOCK_DIR = "/run/hostfence";

/** The lock file for the network namespace `netns` (e.g. `net:[4026531840]`). */
export function agentLockPath(netns: string, dir = LOCK_DIR): string {
  const id = /\[(\d+)\]/.exec(netns)?.[1] ?? netns.replace(/[^A-Za-z0-9_.-]/g, "_");
  return `${dir}/agent.net-${id}.lock`;
}

/** This process's network namespace, as the kernel names it (`net:[4026531840]`). */
export function currentNetns(): string {
  try {
    return Deno.readLinkSync("/proc/self/ns/net");
  } catch {
    return "net:[unknown]";
  }
}

/** A held lock; release() (or leaving a `using` scope) drops it, as the kernel does at exit. */
export interface AgentLock extends Disposable {
  readonly path: string;
  release(): void;
}

/** Another process holds the lock; `holder` is what it wrote there (`pid N host H`). */
export class AgentLockHeld extends Error {
  constructor(readonly path: string, readonly holder: string) {
    super(
      `Another hostfence agent is already running in this network namespace ` +
        `(${holder || "holder unknown"}; lock ${path}); not starting a second one, ` +
        "which would fight it over the nftables table",
    );
    this.name = "AgentLockHeld";
  }
}

/**
 * Takes the lock at `path` without waiting, and writes `pid <pid> host <hostname>` into it
 * for whoever finds it taken. Throws AgentLockHeld when another process holds it, and the
 * runtime's error when the file cannot be created. The file is never removed: removing it
 * would let a third agent lock a new file while the second still holds the old one.
 */
export function acquireAgentLock(path: string, hostname: string): AgentLock {
  const dir = path.replace(/\/[^/]*$/, "");
  if (dir) Deno.mkdirSync(dir, { recursive: true });
  const file = Deno.openSync(path, { read: true, write: true, create: true });
  let locked = false;
  try {
    locked = file.tryLockSync(true);
    if (!locked) {
      let holder = "";
      try {
        holder = clip(Deno.readTextFileSync(path).trim(), 200);
      } catch { /* unreadable: say so below */ }
      throw new AgentLockHeld(path, holder);
    }
    file.truncateSync(0);
    file.writeSync(new TextEncoder().encode(`pid ${Deno.pid} host ${hostname}\n`));
  } catch (e) {
    file.close();
    throw e;
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    file.close();
  };
  return { path, release, [Symbol.dispose]: release };
}
