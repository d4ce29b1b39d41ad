/**
 * The one-agent-per-namespace lock: the first taker holds it and writes who it is, a second
 * is refused with that, and releasing lets the next one in. The path names the namespace.
 */
import assert from "node:assert/strict";
import { acquireAgentLock, AgentLockHeld, agentLockPath } from "../../src/agent/lock.ts";

Deno.test("the agent lock is exclusive, says who holds it, and is released", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hostfence-lock-" });
  try {
    const path = agentLockPath("net:[4026531840]", `${dir}/run`);
    assert.equal(path, `${dir}/run/agent.net-4026531840.lock`);
    const first = acquireAgentLock(path, "h1");
    assert.throws(() => acquireAgentLock(path, "h2"), (e: unknown) => {
      assert.ok(e instanceof AgentLockHeld);
      assert.equal(e.holder, `pid ${Deno.pid} host h1`);
      assert.match(e.message, new RegExp(`\\(pid ${Deno.pid} host h1; lock ${path}\\)`));
      return true;
    });
    first.release();
    {
      using second = acquireAgentLock(path, "h2");
      assert.equal(Deno.readTextFileSync(path), `pid ${Deno.pid} host h2\n`);
      assert.equal(second.path, path);
    }
    acquireAgentLock(path, "h3").release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
