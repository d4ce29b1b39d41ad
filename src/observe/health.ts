/**
 * `GET /liveness` and `GET /readiness` (HealthEnabled; README "Watching it run"): 204 when good,
 * 503 with a one-line reason when not. Live means the agent's loop is not wedged (no
 * dataplane call has been in flight longer than a limit; a process whose event loop is stuck
 * cannot answer at all, which the prober sees as a failure too). Ready means live, the
 * datastore's Ready flag is true, its snapshot is complete, and the first full state has been
 * programmed into nftables. During wait-for-ready the agent is live but not ready.
 *
 * Unlike Felix, a present-but-false Ready flag is not reported as ready: the rules already
 * programmed stay in force, but new changes are held back, which an operator should see.
 */
import type { AgentStatus } from "../agent/agent.ts";
import type { ActivitySnapshot } from "./activity.ts";

/** What the health checks read: the agent's status and the recorder's view of its calls. */
export interface HealthSource {
  status(): AgentStatus;
  activity(): Pick<ActivitySnapshot, "busy">;
}

/** One check's outcome; `reason` says why it failed. */
export interface Check {
  readonly ok: boolean;
  readonly reason?: string;
}

export interface HealthOptions {
  /** A dataplane call in flight longer than this makes the agent not live; default 60 s. */
  readonly stuckAfterMs?: number;
}

export const DEFAULT_STUCK_AFTER_MS = 60_000;

/** Liveness, as described in the module comment. */
export function checkLiveness(
  activity: Pick<ActivitySnapshot, "busy">,
  opts: HealthOptions = {},
): Check {
  const limit = opts.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS;
  const busy = activity.busy;
  if (busy !== undefined && busy.forMs > limit) {
    return {
      ok: false,
      reason: `A dataplane ${busy.what} has been running for ${
        Math.round(busy.forMs / 1000)
      } s (limit ${Math.round(limit / 1000)} s)`,
    };
  }
  return { ok: true };
}

/** Readiness, as described in the module comment; the first failing condition is the reason. */
export function checkReadiness(
  status: AgentStatus,
  activity: Pick<ActivitySnapshot, "busy">,
  opts: HealthOptions = {},
): Check {
  const live = checkLiveness(activity, opts);
  if (!live.ok) return live;
  if (!status.ready) {
    return {
      ok: false,
      reason:
        "Waiting for the datastore to be ready (wait-for-ready): /calico/v1/Ready is not true",
    };
  }
  if (!status.inSync) return { ok: false, reason: "Datastore snapshot not complete yet" };
  if (!status.programmed) {
    return {
      ok: false,
      reason: status.applyFailures > 0
        ? `nftables not programmed yet (${status.applyFailures} failed attempt(s); retrying)`
        : "nftables not programmed yet",
    };
  }
  return { ok: true };
}

/** The request handler for the health server; other paths get 404, other methods 405. */
export function healthHandler(
  source: HealthSource,
  opts: HealthOptions = {},
): (req: Request) => Response {
  return (req) => {
    const path = new URL(req.url).pathname;
    let check: () => Check;
    if (path === "/liveness") check = () => checkLiveness(source.activity(), opts);
    else if (path === "/readiness") {
      check = () => checkReadiness(source.status(), source.activity(), opts);
    } else return textResponse(404, "Not found: use /liveness or /readiness\n", req);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return textResponse(405, "Method not allowed\n", req, { allow: "GET, HEAD" });
    }
    const r = check();
    if (r.ok) return new Response(null, { status: 204, headers: { "cache-control": "no-store" } });
    return textResponse(503, `${r.reason ?? "Not healthy"}\n`, req);
  };
}

/** A plain-text response; HEAD gets the headers only. */
export function textResponse(
  status: number,
  body: string,
  req: Request,
  headers: Record<string, string> = {},
): Response {
  return new Response(req.method === "HEAD" ? null : body, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}
