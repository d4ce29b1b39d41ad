/**
 * The lockout check with a real etcd: the CLI (run in the management namespace E, whose
 * addresses are the default management sources) refuses a policy change that would close
 * ssh on node h1's host endpoint, with one line naming the node, interface and what closes it,
 * and writes nothing; `--force` writes it; harmless changes pass; `--keep-open` and
 * `--management-source` choose what must stay open and from where; `config set` is checked
 * too.
 */
import assert from "node:assert/strict";
import { AGENT_TESTS_IGNORED, hep0, openSite, policy, toYaml } from "../harness/scenario.ts";
import { ADDR } from "../harness/topology.ts";

const SSH_KEY = "/calico/v1/policy/tier/default/policy/ssh";

const ssh = (nets: string[]) =>
  policy("ssh", {
    order: 10,
    ingress: nets.map((net) => ({
      action: "allow",
      protocol: "tcp",
      source: { net },
      destination: { ports: [22] },
    })),
  });
const web = (port: number) =>
  policy("web", {
    order: 20,
    ingress: [{ action: "allow", protocol: "tcp", destination: { ports: [port] } }],
  });

Deno.test({
  name: "writes that would cut ssh from the management sources are refused unless forced",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    await using site = await openSite({ startAgent: false });
    const ds = site.ds;
    const cli = (args: string[], yaml?: string) => ds.cli(args, yaml);
    const get = async (key: string) =>
      (await ds.etcdctl(["get", key, "--print-value-only"])).stdout;

    // Set-up: with the default failsafes nothing can close tcp/22, so these pass.
    let r = await cli(
      ["apply", "-f", "-"],
      toYaml([hep0({ ips: [ADDR.h1Eth0] }), ssh([ADDR.mgmtCidr]), web(80)]),
    );
    assert.equal(r.code, 0, r.stderr);

    // Removing the failsafes would close ssh from E's IPv6 address (the policy allows IPv4)...
    r = await cli(["config", "set", "FailsafeInboundHostPorts", "none", "--node", "h1"]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /^Refusing to write: the change would cut management access/);
    assert.match(
      r.stderr,
      /node h1 interface eth0 \(host endpoint hep0\): inbound tcp\/22 from 2001:db8::1 would be closed: DROP: no policy allowed it \(end of the policies of host endpoint hep0\)/,
    );
    assert.equal(await get("/calico/v1/host/h1/config/FailsafeInboundHostPorts"), "");
    // ...but when management comes from the IPv4 network only, it stays open: written.
    r = await cli([
      "config",
      "set",
      "FailsafeInboundHostPorts",
      "none",
      "--node",
      "h1",
      "--management-source",
      ADDR.mgmtCidr,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await get("/calico/v1/host/h1/config/FailsafeInboundHostPorts")).trim(), "none");

    // A policy change that closes ssh from E: refused, one line, nothing written.
    const before = await get(SSH_KEY);
    r = await cli(["apply", "-f", "-"], toYaml([ssh(["198.18.5.0/24"])]));
    assert.equal(r.code, 1, r.stdout);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 2, r.stderr);
    assert.match(
      lines[1]!,
      /^ {2}node h1 interface eth0 \(host endpoint hep0\): inbound tcp\/22 from 198\.18\.0\.1 would be closed: DROP: no policy allowed it/,
    );
    assert.equal(await get(SSH_KEY), before, "nothing written");

    // --keep-open names another port: tcp/22 is then not checked, and the change passes the
    // check (written, so put back right after).
    r = await cli(["apply", "-f", "-", "--keep-open", "tcp:80"], toYaml([ssh(["198.18.5.0/24"])]));
    assert.equal(r.code, 0, r.stderr);
    r = await cli(["apply", "-f", "-", "--force"], toYaml([ssh([ADDR.mgmtCidr])]));
    assert.equal(r.code, 0, r.stderr);

    // --force writes the closing change.
    r = await cli(["apply", "-f", "-", "--force"], toYaml([ssh(["198.18.5.0/24"])]));
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(await get(SSH_KEY), before);

    // Harmless now: ssh is already closed from E, and a web change touches nothing of it.
    r = await cli(["apply", "-f", "-"], toYaml([web(8080)]));
    assert.equal(r.code, 0, r.stderr);

    // From the management network 198.18.5.0/24 ssh is open: deleting the policy is refused.
    r = await cli(["delete", "policy", "ssh", "--management-source", "198.18.5.0/24"]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /inbound tcp\/22 from 198\.18\.5\.1, 198\.18\.5\.254 would be closed/);
    assert.notEqual(await get(SSH_KEY), "", "not deleted");
    // Deleting the host endpoint opens everything: harmless.
    r = await cli([
      "delete",
      "hostEndpoint",
      "hep0",
      "--node",
      "h1",
      "--management-source",
      "198.18.5.0/24",
    ]);
    assert.equal(r.code, 0, r.stderr);

    // Bad flags: a clear error, nothing written.
    r = await cli(["apply", "-f", "-", "--keep-open", "tcp:0"], toYaml([web(81)]));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--keep-open 'tcp:0' is not PROTO:PORT/);
    r = await cli(["apply", "-f", "-", "--management-source", "198.18.0.0/33"], toYaml([web(81)]));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--management-source '198.18.0.0\/33' is not a CIDR/);
    assert.match(await get("/calico/v1/policy/tier/default/policy/web"), /8080/);
  },
});
