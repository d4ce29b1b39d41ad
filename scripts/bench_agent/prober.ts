/**
 * The peer's prober, run inside the peer namespace: for each watched TCP port it starts a new
 * connection attempt about every millisecond (each from a fresh source port, so conntrack never
 * answers for the firewall) and records when each attempt was launched and how it was answered:
 * `open` (SYN-ACK or RST: the firewall let it through) or `closed` (silence until the timeout:
 * dropped). `waitFor` finds the first attempt launched after a given time that got the wanted
 * answer, with the next few attempts agreeing, i.e. when the answer changed.
 *
 * Usage: deno run -A prober.ts TARGET_IP
 */
import net from "node:net";
import { nowMs, serve } from "./rpc.ts";

const target = Deno.args[0]!;
const TIMEOUT_MS = 300;
/** Attempts after the change that must agree with it, so one odd answer is not a change. */
const STABLE = 3;

type Answer = "open" | "closed" | "error";
interface Attempt {
  readonly t: number;
  answer?: Answer;
}

const probes = new Map<number, { attempts: Attempt[]; timer: ReturnType<typeof setInterval> }>();
const wakers = new Set<() => void>();
const wake = () => {
  for (const w of wakers) w();
};

function attempt(list: Attempt[], port: number) {
  const a: Attempt = { t: nowMs() };
  list.push(a);
  const s = net.connect({ host: target, port });
  const settle = (ans: Answer) => {
    if (a.answer) return;
    a.answer = ans;
    clearTimeout(timer);
    s.destroy();
    wake();
  };
  const timer = setTimeout(() => settle("closed"), TIMEOUT_MS);
  s.once("connect", () => settle("open"));
  s.once(
    "error",
    (e: NodeJS.ErrnoException) => settle(e.code === "ECONNREFUSED" ? "open" : "error"),
  );
}

/** Index of the first attempt at or after `since` answered `want`, stable; or -1 (undecided). */
function find(list: Attempt[], since: number, want: Answer): number {
  let i = 0;
  while (i < list.length && list[i]!.t < since) i++;
  for (; i < list.length; i++) {
    const a = list[i]!;
    if (a.answer === undefined) return -1; // earlier attempts must be decided first
    if (a.answer !== want) continue;
    let ok = true;
    for (let j = i + 1; j <= i + STABLE; j++) {
      const b = list[j];
      if (b === undefined || b.answer === undefined) return -1;
      if (b.answer !== want) ok = false;
    }
    if (ok) return i;
  }
  return -1;
}

await serve({
  start(req) {
    const port = Number(req.port);
    if (probes.has(port)) return;
    const attempts: Attempt[] = [];
    const timer = setInterval(() => {
      attempt(attempts, port);
      // Forget attempts older than a minute once decided.
      if (attempts.length > 120_000 && attempts[0]!.answer) attempts.splice(0, 60_000);
    }, 1);
    probes.set(port, { attempts, timer });
  },
  stop(req) {
    const p = probes.get(Number(req.port));
    if (!p) return;
    clearInterval(p.timer);
    probes.delete(Number(req.port));
  },
  /**
   * Waits until the port's answer is `want` for attempts launched at or after `since`;
   * returns that attempt's launch time and the gap to the attempt before it (the resolution).
   */
  async waitFor(req) {
    const p = probes.get(Number(req.port));
    if (!p) throw new Error(`port ${req.port} is not being probed`);
    const since = Number(req.since), want = String(req.want) as Answer;
    const deadline = nowMs() + Number(req.timeoutMs ?? 30_000);
    while (true) {
      const i = find(p.attempts, since, want);
      if (i >= 0) {
        const a = p.attempts[i]!;
        const prev = p.attempts[i - 1];
        return { t: a.t, gap: prev ? a.t - prev.t : null };
      }
      const left = deadline - nowMs();
      if (left <= 0) throw new Error(`port ${req.port} did not become ${want} in time`);
      await new Promise<void>((resolve) => {
        const w = () => {
          wakers.delete(w);
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(w, Math.min(left, 50));
        wakers.add(w);
      });
    }
  },
  /** The answer of the latest decided attempt. */
  state(req) {
    const p = probes.get(Number(req.port));
    if (!p) return null;
    for (let i = p.attempts.length - 1; i >= 0; i--) {
      const a = p.attempts[i]!;
      if (a.answer) return a.answer;
    }
    return null;
  },
});
