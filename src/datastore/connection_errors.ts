/**
 * What a failed etcd call means to an operator: "cannot reach etcd" (retry, fail over) versus
 * "etcd said no", and the short reason printed after `Cannot connect to etcd at ...`. Shared
 * by both clients (etcd_http.ts, etcd_grpc.ts) and everything that reports their failures.
 */
import { DatastoreUnavailableError } from "./store.ts";
import { EtcdUnavailableError } from "./etcd_client.ts";
import type { ConnectionConfig } from "./connection_settings.ts";
import { errorMessage } from "../util/error_message.ts";

/** True for the errors that mean "etcd is not reachable" rather than "etcd said no". */
export function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e instanceof EtcdUnavailableError) return true;
  const name = e.constructor?.name ?? e.name;
  return name === "GRPCUnavailableError" || name === "GRPCDeadlineExceededError" ||
    name === "GRPCCancelledError" || name === "EtcdWatchStreamEnded" ||
    name === "GRPCInternalError" ||
    /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|No connection established/.test(e.message);
}

/** Short reason for a connection failure, e.g. `connection refused`. */
export function connectionFailureReason(e: unknown): string {
  const msg = errorMessage(e);
  if (/ECONNREFUSED|connection refused/i.test(msg)) return "connection refused";
  if (/DEADLINE_EXCEEDED|deadline|timed out/i.test(msg)) return "timed out";
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo|dns error/.test(msg)) return "host not found";
  if (/EHOSTUNREACH|ENETUNREACH|no route to host|network is unreachable/i.test(msg)) {
    return "host unreachable";
  }
  const blocked = /Requests to port (\d+) are blocked/.exec(msg);
  if (blocked) {
    return `Deno's fetch refuses port ${blocked[1]} (a blocked port); use another port or ` +
      "ETCD_TRANSPORT=grpc";
  }
  if (/certificate|SSL|TLS|handshake/i.test(msg)) {
    return `TLS error (${firstLine(msg.replace(/^.*client error \(Connect\): /, ""))})`;
  }
  return firstLine(msg.replace(/^\d+ [A-Z_]+: /, ""));
}

/** The first line of a message, trimmed (client errors carry whole responses). */
export function firstLine(s: string): string {
  return (s.split("\n")[0] ?? s).trim();
}

/** `Cannot connect to etcd at http://127.0.0.1:1: connection refused` */
export function unavailableError(conn: ConnectionConfig, e: unknown): DatastoreUnavailableError {
  return new DatastoreUnavailableError(
    `Cannot connect to etcd at ${conn.endpoints.join(",")}: ${connectionFailureReason(e)}`,
  );
}
