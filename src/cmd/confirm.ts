/**
 * `hostfence confirm [ID]`: keeps a change made with `--confirm-within` (removes its rollback
 * record and guard). Without an ID it confirms the only change waiting, or lists them.
 */
import { ConfirmStore, type PendingChange } from "../datastore/confirm_store.ts";
import { EtcdResourceStore } from "../datastore/etcd_store.ts";
import { DatastoreUnavailableError } from "../datastore/store.ts";
import { DATASTORE_OPTIONS, InvalidOptionError, parseCommand } from "./args.ts";
import type { CliIo, Command } from "./io.ts";
import { CommandFailure, failure, openStore } from "./resources.ts";

/** One line per pending change, for the "which one?" errors. */
export function describePending(list: readonly PendingChange[]): string {
  return list.map(({ record: r, expired }) =>
    `  ${r.id}  ${r.verb} ${r.resources.map((g) => g.resource).join(", ")}  ` +
    (expired ? `(expired at ${r.deadline}; being rolled back)` : `(until ${r.deadline})`)
  ).join("\n");
}

/** `hostfence confirm ARGS` (ARGS without the command word); returns the exit code. */
export const runConfirm: Command = async (args, io) => {
  const argv = ["confirm", ...args];
  try {
    const p = parseCommand(argv, args, DATASTORE_OPTIONS);
    if (p.positionals.length > 1) throw new InvalidOptionError(argv);
    const given = p.positionals[0];
    if (given !== undefined && !/^[0-9A-Za-z-]{1,64}$/.test(given)) {
      throw new CommandFailure(`Failed to confirm: '${given}' is not a change ID`);
    }
    const store = await openStore(p, io);
    try {
      if (!(store instanceof EtcdResourceStore)) {
        throw new CommandFailure("confirm needs the etcd datastore");
      }
      return await store.withClient((client) => confirmChange(new ConfirmStore(client), given, io))
        .catch((e) => {
          if (e instanceof DatastoreUnavailableError) {
            throw new CommandFailure(`Failed to confirm: ${e.message}`);
          }
          throw e;
        });
    } finally {
      await store.close();
    }
  } catch (e) {
    return failure(io, e);
  }
};

/** Confirms `given`, or the only change waiting; CommandFailure for every refusal. */
async function confirmChange(
  cs: ConfirmStore,
  given: string | undefined,
  io: CliIo,
): Promise<number> {
  let id = given;
  if (id === undefined) {
    const waiting = (await cs.pending()).filter((c) => !c.expired);
    if (waiting.length === 0) {
      throw new CommandFailure("Failed to confirm: no change is waiting for confirmation");
    }
    if (waiting.length > 1) {
      throw new CommandFailure(
        `Failed to confirm: ${waiting.length} changes are waiting; name one:\n` +
          describePending(waiting),
      );
    }
    id = waiting[0]!.record.id;
  }
  const result = await cs.confirm(id);
  if (result === "confirmed") {
    io.out(`Confirmed change ${id}: it stays\n`);
    return 0;
  }
  if (result === "expired") {
    throw new CommandFailure(
      `Failed to confirm change ${id}: its confirm window has ended; ` +
        "the agents are rolling it back",
    );
  }
  const others = await cs.pending();
  throw new CommandFailure(
    `Failed to confirm change ${id}: no such change (never made, already confirmed, or ` +
      "rolled back)" +
      (others.length > 0 ? `; changes waiting:\n${describePending(others)}` : ""),
  );
}
