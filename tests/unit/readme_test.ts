/** The README's configuration reference stays complete as parameters are added. */
import { ok as assert } from "node:assert/strict";
import { kebabName, PARAM_LIST } from "../../src/config/mod.ts";

const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));

Deno.test("every agent parameter is documented in the README with its flag", () => {
  const missing = PARAM_LIST.filter((p) =>
    !readme.includes(`\`${p.name}\``) || !readme.includes(`--${kebabName(p.name)}`)
  ).map((p) => p.name);
  assert(missing.length === 0, `README lacks: ${missing.join(", ")}`);
});

Deno.test("the README names the two set-up commands and the scripts they run exist", async () => {
  for (const cmd of ["scripts/demo.sh", "scripts/test.sh", "scripts/setup.sh"]) {
    assert(readme.includes(cmd), `README mentions ${cmd}`);
    const info = await Deno.stat(new URL(`../../${cmd}`, import.meta.url));
    assert(info.isFile && (info.mode ?? 0o755) & 0o100, `${cmd} is executable`);
  }
});
