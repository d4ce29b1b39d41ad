/**
 * `hostfence status` without an etcd: the view built from raw keys (live, expired, never;
 * endpoint states), its table and JSON, durations, and the command's argument and
 * connection errors.
 */
import { deepStrictEqual as assertEquals, equal, ok as assert } from "node:assert/strict";
import {
  buildStatusView,
  formatDuration,
  formatStatusJson,
  formatStatusTable,
} from "../../src/status/status_view.ts";
import { runStatus, STATUS_HELP } from "../../src/cmd/status.ts";

const NOW = new Date("2017-10-01T12:00:12Z");
const report = (time: string, uptime: number, first = false) =>
  JSON.stringify({ time, uptime, first_update: first });

/** Three nodes: a live one, one whose agent died, one that never ran an agent. */
const HOST_KEYS = [
  "/calico/v1/host/alpha/metadata",
  "/calico/v1/host/alpha/endpoint/eth0",
  "/calico/v1/host/alpha/endpoint/eth1",
  "/calico/v1/host/alpha/endpoint/ns%2fbond0",
  "/calico/v1/host/alpha/endpoint/lo",
  "/calico/v1/host/bravo/metadata",
  "/calico/v1/host/bravo/endpoint/eth0",
  "/calico/v1/host/charlie/config/LogSeverityScreen",
];
const FELIX = {
  "/calico/felix/v1/host/alpha/status": report("2017-10-01T12:00:00Z", 3723.5),
  "/calico/felix/v1/host/alpha/last_reported_status": report("2017-10-01T12:00:00Z", 3723.5),
  "/calico/felix/v1/host/alpha/endpoint/eth0": '{"status":"up"}',
  "/calico/felix/v1/host/alpha/endpoint/eth1": '{"status":"down"}',
  "/calico/felix/v1/host/alpha/endpoint/ns%2fbond0": '{"status":"error"}',
  "/calico/felix/v1/host/alpha/endpoint/stale": '{"status":"up"}',
  "/calico/felix/v1/host/alpha/workload/k8s/pod/endpoint/eth0": '{"status":"up"}',
  "/calico/felix/v1/host/bravo/last_reported_status": report("2017-09-30T10:00:00Z", 90061),
  "/calico/felix/v1/host/bravo/endpoint/eth0": '{"status":"up"}',
  "/calico/felix/v1/host/delta/last_reported_status": report("2017-10-01T11:59:00Z", 5, true),
};

Deno.test({
  name: "The view joins host endpoints with reported statuses and classifies heartbeats",
  fn() {
    assertEquals(buildStatusView(HOST_KEYS, FELIX), [
      {
        node: "alpha",
        heartbeat: "live",
        report: { time: "2017-10-01T12:00:00Z", uptime: 3723.5, first_update: false },
        endpoints: [
          { name: "eth0", status: "up" },
          { name: "eth1", status: "down" },
          { name: "lo", status: "unknown" },
          { name: "ns/bond0", status: "error" },
        ],
      },
      {
        node: "bravo",
        heartbeat: "expired",
        report: { time: "2017-09-30T10:00:00Z", uptime: 90061, first_update: false },
        endpoints: [{ name: "eth0", status: "up" }],
      },
      { node: "charlie", heartbeat: "never", endpoints: [] },
      {
        node: "delta",
        heartbeat: "expired",
        report: { time: "2017-10-01T11:59:00Z", uptime: 5, first_update: true },
        endpoints: [],
      },
    ]);
  },
});

Deno.test({
  name: "A live key with an unreadable value falls back to the last report for its time",
  fn() {
    const [n] = buildStatusView([], {
      "/calico/felix/v1/host/x/status": "garbage",
      "/calico/felix/v1/host/x/last_reported_status": report("2017-10-01T12:00:00Z", 1),
    });
    equal(n!.heartbeat, "live");
    equal(n!.report?.time, "2017-10-01T12:00:00Z");
    const [m] = buildStatusView([], { "/calico/felix/v1/host/y/status": "garbage" });
    assertEquals(m, { node: "y", heartbeat: "live", endpoints: [] });
    equal(
      formatStatusTable([m!], NOW).split("\n")[1],
      "y      live        -             -     -        none",
    );
  },
});

Deno.test({
  name: "The table shows live, EXPIRED and NEVER nodes with ages, uptimes and endpoint states",
  fn() {
    const table = formatStatusTable(buildStatusView(HOST_KEYS, FELIX), NOW);
    equal(
      table,
      [
        "NODE      HEARTBEAT   LAST REPORT            AGE     UPTIME   ENDPOINTS",
        "alpha     live        2017-10-01T12:00:00Z   12s     1h2m     eth0=up, eth1=down, lo=unknown, ns/bond0=error",
        "bravo     EXPIRED     2017-09-30T10:00:00Z   1d2h    1d1h     eth0=up",
        "charlie   NEVER       -                      -       -        none",
        "delta     EXPIRED     2017-10-01T11:59:00Z   1m12s   5s       none",
        "",
      ].join("\n"),
    );
    equal(
      formatStatusTable([], NOW),
      "NODE   HEARTBEAT   LAST REPORT   AGE   UPTIME   ENDPOINTS\n",
    );
  },
});

Deno.test({
  name: "The JSON output carries the same facts with numbers as numbers",
  fn() {
    const parsed = JSON.parse(formatStatusJson(buildStatusView(HOST_KEYS, FELIX), NOW));
    equal(parsed.length, 4);
    assertEquals(parsed[0], {
      node: "alpha",
      heartbeat: "live",
      lastReport: "2017-10-01T12:00:00Z",
      ageSecs: 12,
      uptimeSecs: 3723.5,
      firstUpdate: false,
      endpoints: [
        { name: "eth0", status: "up" },
        { name: "eth1", status: "down" },
        { name: "lo", status: "unknown" },
        { name: "ns/bond0", status: "error" },
      ],
    });
    assertEquals(parsed[2], {
      node: "charlie",
      heartbeat: "never",
      lastReport: null,
      ageSecs: null,
      uptimeSecs: null,
      firstUpdate: null,
      endpoints: [],
    });
  },
});

Deno.test({
  name: "Durations show the two largest whole units",
  fn() {
    assertEquals(
      [0, 0.9, 12, 59, 60, 61, 3599, 3600, 3723.5, 86399, 86400, 90061, 10 * 86400 + 7200, -5]
        .map(formatDuration),
      [
        "0s",
        "0s",
        "12s",
        "59s",
        "1m0s",
        "1m1s",
        "59m59s",
        "1h0m",
        "1h2m",
        "23h59m",
        "1d0h",
        "1d1h",
        "10d2h",
        "0s",
      ],
    );
  },
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

Deno.test({
  name: "hostfence status rejects bad command lines with one line and exit 1",
  async fn(t) {
    const noEnv = { env: () => undefined, defaultConfigFile: "/nonexistent/calicoctl.cfg" };
    for (
      const [args, want] of [
        [["--bogus"], "Invalid option: 'hostfence status --bogus'."],
        [["extra"], "Invalid option: 'hostfence status extra'."],
        [["--node"], "Invalid option: 'hostfence status --node'."],
        [["--node", ""], "Invalid option: 'hostfence status --node '."],
        [["-o", "yaml"], "Unrecognized output format 'yaml': use 'table' or 'json'"],
        [["-c", "/nonexistent/x.cfg"], "Error reading config file: /nonexistent/x.cfg"],
        [["--etcd-endpoints", "unix:///x"], "Invalid etcd endpoint 'unix:///x'"],
      ] as const
    ) {
      await t.step(args.join(" "), async () => {
        const c = capture();
        equal(await runStatus([...args], c.io, noEnv), 1);
        equal(c.out(), "");
        assert(c.err().startsWith(want), c.err());
        equal(c.err().split("\n").length, 2, c.err());
      });
    }
  },
});

Deno.test({
  name: "hostfence status --help prints its usage and exits 0",
  async fn() {
    const c = capture();
    equal(await runStatus(["--help"], c.io), 0);
    equal(c.out(), STATUS_HELP);
    assert(STATUS_HELP.includes("EXPIRED"));
  },
});

Deno.test({
  name: "hostfence status names the endpoint when etcd cannot be reached",
  async fn() {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const c = capture();
    const code = await runStatus(["--etcd-endpoints", `http://127.0.0.1:${port}`], c.io, {
      env: () => undefined,
    });
    equal(code, 1);
    equal(c.out(), "");
    equal(c.err(), `Cannot connect to etcd at http://127.0.0.1:${port}: connection refused\n`);
  },
});

Deno.test({
  name: "ETCD_ENDPOINTS from the environment is used when no flag is given",
  async fn() {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const c = capture();
    const env = (n: string) => n === "ETCD_ENDPOINTS" ? `http://127.0.0.1:${port}` : undefined;
    equal(await runStatus([], c.io, { env, defaultConfigFile: "/nonexistent/c.cfg" }), 1);
    assert(c.err().includes(`http://127.0.0.1:${port}`), c.err());
  },
});
