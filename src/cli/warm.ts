/**
 * Loads the code of every command without running any, so that Deno transpiles and caches
 * all of it (its emit cache and V8's code cache in DENO_DIR). The shipped runtime folder
 * runs this once where it will live (its `warm-cache` script: at the single-file launcher's
 * first unpack, at package installation), because the caches are keyed by the modules'
 * paths and the commands are loaded lazily: otherwise each command would pay for
 * transpiling its modules the first time it runs, and under the systemd unit, whose /usr is
 * read-only, every time.
 */
import { COMMANDS } from "./main.ts";

/** Imports the code behind every command of the command table. */
export async function warmAll(): Promise<void> {
  for (const load of Object.values(COMMANDS)) await load();
  // The agent loads its datastore's code only once it knows which one is configured.
  await import("../cmd/agent_etcd.ts");
  await import("../cmd/agent_local.ts");
  // What get and the writing commands load only for the runs that use it.
  await import("../cmd/lockout_check.ts");
  await import("../model/output.ts");
  await import("../model/v3/output.ts");
  // What a connection loads only when configured so: a calicoctl config file (the usual case
  // on an operator's machine) and the gRPC client (ETCD_TRANSPORT=grpc). Importing the gRPC
  // client opens no connection.
  await import("../datastore/calicoctl_config.ts");
  await import("../datastore/etcd_grpc.ts");
}

if (import.meta.main) {
  await warmAll();
}
