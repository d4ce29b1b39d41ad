/** `hostfence version` names the form of the build it runs from (src/cli/version.ts). */
import assert from "node:assert/strict";
import { BUILD_FORM_FILE, buildFormLine, type FormProbe } from "../../src/cli/version.ts";

const DENO = `Deno ${Deno.version.deno}`;

function probe(execPath: string, marker?: string): FormProbe {
  const appRoot = new URL("file:///var/lib/hostfence/runtime/abc/app/");
  return {
    appRoot,
    execPath,
    readMarker: (url) => {
      assert.equal(url.href, new URL(BUILD_FORM_FILE, appRoot).href);
      return marker;
    },
  };
}

Deno.test("the build's marker names the single-file launcher and the folder", () => {
  const launcher = probe("/var/lib/hostfence/runtime/abc/deno", '{"form":"single-file launcher"}');
  assert.equal(
    buildFormLine(launcher),
    `form: single-file launcher (runtime /var/lib/hostfence/runtime/abc), ${DENO}`,
  );
  assert.equal(
    buildFormLine(probe("/usr/lib/hostfence/deno", '{"form":"folder"}')),
    `form: folder (/var/lib/hostfence/runtime/abc), ${DENO}`,
  );
});

Deno.test("without a marker: Deno itself is a checkout, any other executable a compiled binary", () => {
  assert.equal(
    buildFormLine(probe("/work/.tools/node_modules/deno/deno")),
    `form: source checkout (/var/lib/hostfence/runtime/abc/app), ${DENO}`,
  );
  assert.equal(
    buildFormLine(probe("/usr/bin/hostfence")),
    `form: compiled binary (/usr/bin/hostfence), ${DENO}`,
  );
  // A marker that is not ours is ignored rather than trusted.
  assert.equal(
    buildFormLine(probe("/usr/bin/hostfence", "not json")),
    `form: compiled binary (/usr/bin/hostfence), ${DENO}`,
  );
});
