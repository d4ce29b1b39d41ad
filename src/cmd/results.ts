/**
 * calicoctl v1's result lines for the resource-writing commands, as a pure
 * function of what happened, so the wording operators grep for is tested in one place.
 */

/** The commands that write resources one by one. */
export type WriteVerb = "create" | "apply" | "replace" | "delete";

const PAST: Record<WriteVerb, string> = {
  create: "created",
  apply: "applied",
  replace: "replaced",
  delete: "deleted",
};

/** What a write command did to the resources of one file (or one command-line name). */
export interface WriteOutcome {
  /** How many resources the input held. */
  readonly total: number;
  /** How many were handled (including ones skipped by `--skip-exists`/`--skip-not-exists`). */
  readonly handled: number;
  /** The kind every resource shares, as spelled in files (`hostEndpoint`); absent if mixed. */
  readonly singleKind?: string;
  /** The error that stopped processing; absent when every resource was handled. */
  readonly error?: string;
}

/** The text to print and where, and the exit code. */
export interface CommandReport {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The lines calicoctl printed after a write command: `Successfully created 2 'policy'
 * resource(s)`, `Failed to create 'hostEndpoint' resource: ERR`, `Failed to create any
 * 'policy' resources: ERR`, `Partial success: created the first 1 out of 3 'policy'
 * resources:` + `Hit error: ERR`, or `No resources specified in file`. Successes go to
 * stdout with exit 0; everything else to stderr with exit 1.
 */
export function writeReport(verb: WriteVerb, o: WriteOutcome): CommandReport {
  const kind = o.singleKind !== undefined ? `'${o.singleKind}' ` : "";
  const fail = (text: string): CommandReport => ({ exitCode: 1, stdout: "", stderr: text });
  if (o.total === 0) return fail("No resources specified in file\n");
  if (o.error === undefined) {
    return {
      exitCode: 0,
      stdout: `Successfully ${PAST[verb]} ${o.handled} ${kind}resource(s)\n`,
      stderr: "",
    };
  }
  if (o.handled === 0) {
    if (o.total === 1) return fail(`Failed to ${verb} ${kind}resource: ${o.error}\n`);
    return fail(`Failed to ${verb} any ${kind}resources: ${o.error}\n`);
  }
  return fail(
    `Partial success: ${PAST[verb]} the first ${o.handled} out of ${o.total} ${kind}resources:\n` +
      `Hit error: ${o.error}\n`,
  );
}

/** The kind shared by every item, or undefined when they differ (or there are none). */
export function sharedKind(kinds: readonly string[]): string | undefined {
  const first = kinds[0];
  return first !== undefined && kinds.every((k) => k === first) ? first : undefined;
}

/**
 * What `--confirm-within` prints after the result line: the change ID, the deadline and the
 * command that keeps the change (scripts read the ID from the first line's last word).
 */
export function confirmNotice(id: string, deadline: Date): string {
  const at = deadline.toISOString().replace(/\.\d+Z$/, "Z");
  return `Change ID: ${id}\n` +
    `The change is rolled back at ${at} unless confirmed with: hostfence confirm ${id}\n`;
}
