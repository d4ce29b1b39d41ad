/**
 * An independent etcd client for tests to set up and check keys with: npm:etcd3 over gRPC,
 * not the client under test (src/datastore's EtcdClient), so a test's view of etcd does not
 * depend on the code it checks.
 */
import { Etcd3 } from "etcd3";

export type { Etcd3 };

/** A raw client for `endpoints` (a URL, a comma list or a list); close it when done. */
export function rawEtcd(endpoints: string | readonly string[]): Etcd3 {
  const hosts = typeof endpoints === "string" ? endpoints.split(",") : [...endpoints];
  return new Etcd3({ hosts });
}
