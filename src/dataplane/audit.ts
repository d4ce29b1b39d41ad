/**
 * PolicyAuditMode's rules. Under audit, a rule that would drop (a deny rule, a compiled deny
 * lookup, an endpoint's "no policy allowed", "no profile allowed" or default drop) instead
 * counts the packet (its owner carries `audit`, so counters report it as a would-drop), sets
 * the accept mark, and is followed by this tail: a rate-limited log line naming what would
 * have dropped the packet, then the allow path's return. So an audited would-drop is treated
 * exactly like an allow at that stage, and failsafes and untracked allows are untouched.
 *
 * The log sits in its own rule because `limit` ends a rule once over its rate: the counter
 * and the mark must run for every packet, the log only for the first few per second.
 */
import type { BuildContext } from "./context.ts";
import { quoteLogPrefix } from "./names.ts";
import {
  COUNTER,
  markIsSet,
  type NftRule,
  RETURN,
  rule,
  setMarkBits,
  type Statement,
} from "./rule.ts";

/** At most this many would-drop log lines per second per audited rule. */
export const AUDIT_LOG_RATE: Statement = { kind: "limit", rate: 10, per: "second" };

/** True when the context renders audit mode. */
export function auditing(ctx: BuildContext): boolean {
  return ctx.cfg.policyAuditMode === true;
}

/** The statements of an audited would-drop rule: count, then mark as allowed. */
export function auditStatements(ctx: BuildContext, counted = true): Statement[] {
  return counted ? [COUNTER, setMarkBits(ctx.accept)] : [setMarkBits(ctx.accept)];
}

/**
 * The two rules after an audited would-drop rule: log `<LogPrefix>-audit would drop: WHAT`
 * (rate-limited), then return on the allow path. Only a packet the rule before marked gets
 * here with the mark set: an allow returns at once, so nothing else sets it in between.
 */
export function auditTail(ctx: BuildContext, what: string): NftRule[] {
  const A = ctx.accept;
  return [
    rule([markIsSet(A)], [AUDIT_LOG_RATE, {
      kind: "log",
      quotedPrefix: quoteLogPrefix(`${ctx.cfg.logPrefix}-audit would drop: ${what}`),
    }]),
    rule([markIsSet(A)], [], RETURN),
  ];
}
