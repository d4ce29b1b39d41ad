/**
 * `hostfence version`: the version, and which of the shipped forms is running. Operators
 * copy one file around and packages install a folder; when something misbehaves the first
 * question is which build it is and where its runtime lives, so `version` says so.
 */
import denoJson from "../../deno.json" with { type: "json" };

/** `hostfence 0.1.0`: the version in deno.json, the one place it is kept. */
export const VERSION_LINE = `hostfence ${denoJson.version}`;

/**
 * The marker scripts/build.sh writes beside the app's main.ts in the runtime folder it
 * builds: `{"form": "single-file launcher" | "folder"}`. Its absence means no build did.
 */
export const BUILD_FORM_FILE = "build-form.json";

/** Where to look for the marker and how to tell a compiled binary; replaced in tests. */
export interface FormProbe {
  /** The app's root directory URL (where main.ts lives), ending in `/`. */
  readonly appRoot: URL;
  /** The running executable (Deno.execPath()). */
  readonly execPath: string;
  /** The marker's text, or undefined when there is none. */
  readMarker(url: URL): string | undefined;
}

function realProbe(): FormProbe {
  return {
    appRoot: new URL("../../", import.meta.url),
    execPath: Deno.execPath(),
    readMarker(url) {
      try {
        return Deno.readTextFileSync(url);
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * One line naming the form: `compiled binary`, `single-file launcher (runtime DIR)`,
 * `folder (DIR)` or `source checkout (DIR)`, and the Deno version inside.
 */
export function buildFormLine(probe: FormProbe = realProbe()): string {
  const deno = `Deno ${Deno.version.deno}`;
  const marker = probe.readMarker(new URL(BUILD_FORM_FILE, probe.appRoot));
  if (marker !== undefined) {
    let form: unknown;
    try {
      form = (JSON.parse(marker) as { form?: unknown }).form;
    } catch {
      form = undefined;
    }
    // The app sits in DIR/app/; DIR is the runtime folder holding deno, app and deno_dir.
    const dir = new URL("../", probe.appRoot).pathname.replace(/\/$/, "");
    if (form === "single-file launcher") {
      return `form: single-file launcher (runtime ${dir}), ${deno}`;
    }
    if (form === "folder") return `form: folder (${dir}), ${deno}`;
  }
  // deno compile embeds the app in a copy of its runtime: the executable is not Deno's.
  const exe = probe.execPath.slice(probe.execPath.lastIndexOf("/") + 1);
  if (exe !== "deno") return `form: compiled binary (${probe.execPath}), ${deno}`;
  return `form: source checkout (${probe.appRoot.pathname.replace(/\/$/, "")}), ${deno}`;
}
