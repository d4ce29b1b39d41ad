/**
 * The HTTP edge of health and metrics: thin Deno.serve wrappers around the pure handlers,
 * and ObserveServers, which starts, moves and stops the two servers as the configuration
 * says (HealthEnabled/HealthHost/HealthPort, PrometheusMetricsEnabled/PrometheusMetricsPort),
 * including when those parameters change live in etcd.
 *
 * Bind addresses: the health server listens on HealthHost (default 127.0.0.1: probes run on
 * the host itself). The metrics server listens on all interfaces like Felix's (`::`, which is
 * dual-stack on Linux unless net.ipv6.bindv6only is set, falling back to `0.0.0.0` when IPv6
 * is unavailable), because Prometheus scrapes from elsewhere; an operator who protects the
 * host with host-endpoint policy must allow PrometheusMetricsPort from the scraper, just as
 * with Felix. `metricsHost` narrows it.
 */
import type { Logger } from "../log/logger.ts";
import { healthHandler, type HealthOptions, type HealthSource } from "./health.ts";
import { metricsHandler, type MetricsSource } from "./metrics.ts";
import { errorMessage } from "../util/error_message.ts";

/** A running HTTP server. */
export interface HttpServer {
  /** Where it actually listens (the real port when 0 was asked for). */
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting, lets requests in flight finish, and resolves when all is closed. */
  close(): Promise<void>;
}

export interface HttpServerOptions {
  readonly hostname: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly handler: (req: Request) => Response | Promise<Response>;
  /** Called with a handler's exception; the client gets a 500. */
  readonly onError?: (err: unknown) => void;
}

/** Starts a server; throws (e.g. Deno.errors.AddrInUse) when the address cannot be bound. */
export function startHttpServer(opts: HttpServerOptions): HttpServer {
  const server = Deno.serve({
    hostname: opts.hostname,
    port: opts.port,
    onListen: () => {},
    onError: (err) => {
      opts.onError?.(err);
      return new Response("Internal error\n", { status: 500 });
    },
  }, opts.handler);
  const addr = server.addr as Deno.NetAddr;
  let closed: Promise<void> | undefined;
  return {
    hostname: addr.hostname,
    port: addr.port,
    close: () => {
      closed ??= server.shutdown().then(() => server.finished);
      return closed;
    },
  };
}

/** The parameters ObserveServers follows; FelixConfig has them all. */
export interface ObserveSettings {
  readonly healthEnabled: boolean;
  readonly healthHost: string;
  readonly healthPort: number;
  readonly prometheusMetricsEnabled: boolean;
  readonly prometheusMetricsPort: number;
}

export interface ObserveServersOptions extends HealthOptions {
  readonly log: Logger;
  /** Where the metrics server listens; default all interfaces (see the module comment). */
  readonly metricsHost?: string;
}

interface _Running {
  readonly key: string;
  readonly server: HttpServer;
}

/** Hosts tried in order for "all interfaces". */
const ALL_INTERFACES = ["::", "0.0.0.0"] as const;

/**
 * The agent's health and metrics servers. `configure` is called with the start-up config and
 * again after every live config change; it only touches a server whose settings changed. A
 * server that cannot bind is logged at ERROR and left off (the agent keeps enforcing);
 * the next `configure` with different settings tries again.
 */
export class ObserveServers {
  readonly #source: MetricsSource & HealthSource;
  readonly #opts: ObserveServersOptions;
  #health: _Running | undefined;
  #metrics: _Running | undefined;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(source: MetricsSource & HealthSource, opts: ObserveServersOptions) {
    this.#source = source;
    this.#opts = opts;
  }

  /** Where the health server listens, or undefined when it is off. */
  get health(): HttpServer | undefined {
    return this.#health?.server;
  }

  /** Where the metrics server listens, or undefined when it is off. */
  get metrics(): HttpServer | undefined {
    return this.#metrics?.server;
  }

  /** Brings both servers in line with `s`; calls are serialised. Never throws. */
  configure(s: ObserveSettings): Promise<void> {
    this.#queue = this.#queue.then(() => this.#configure(s)).catch((err) => {
      this.#opts.log.error(`Cannot reconfigure the health/metrics servers: ${String(err)}`);
    });
    return this.#queue;
  }

  async #configure(s: ObserveSettings): Promise<void> {
    if (this.#closed) return;
    const log = this.#opts.log;
    const healthKey = s.healthEnabled ? `${s.healthHost}:${s.healthPort}` : "";
    if (healthKey !== (this.#health?.key ?? "")) {
      await this.#health?.server.close();
      this.#health = undefined;
      if (s.healthEnabled) {
        const handler = healthHandler(this.#source, this.#opts);
        const server = this.#start("health", [s.healthHost], s.healthPort, handler);
        if (server) {
          this.#health = { key: healthKey, server };
          log.info(
            `Health server listening on ${_hostPort(server)} (/liveness, /readiness)`,
          );
        }
      }
    }
    const metricsKey = s.prometheusMetricsEnabled ? String(s.prometheusMetricsPort) : "";
    if (metricsKey !== (this.#metrics?.key ?? "")) {
      await this.#metrics?.server.close();
      this.#metrics = undefined;
      if (s.prometheusMetricsEnabled) {
        const handler = metricsHandler(this.#source, {
          onError: (e) => log.error(`Metrics scrape failed: ${errorMessage(e)}`),
        });
        const hosts = this.#opts.metricsHost !== undefined
          ? [this.#opts.metricsHost]
          : ALL_INTERFACES;
        const server = this.#start("metrics", hosts, s.prometheusMetricsPort, handler);
        if (server) {
          this.#metrics = { key: metricsKey, server };
          log.info(`Prometheus metrics server listening on ${_hostPort(server)} (/metrics)`);
        }
      }
    }
  }

  #start(
    what: string,
    hosts: readonly string[],
    port: number,
    handler: (req: Request) => Response | Promise<Response>,
  ): HttpServer | undefined {
    let last: unknown;
    for (const hostname of hosts) {
      try {
        return startHttpServer({
          hostname,
          port,
          handler,
          onError: (e) => this.#opts.log.error(`The ${what} server failed: ${errorMessage(e)}`),
        });
      } catch (err) {
        last = err;
        if (err instanceof Deno.errors.AddrInUse) break; // another host would not help
      }
    }
    this.#opts.log.error(
      `Cannot start the ${what} server on ${hosts.join(" or ")} port ${port}: ${
        errorMessage(last)
      }`,
    );
    return undefined;
  }

  /** Stops both servers; later `configure` calls do nothing. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    await this.#health?.server.close();
    await this.#metrics?.server.close();
    this.#health = undefined;
    this.#metrics = undefined;
  }
}

function _hostPort(s: HttpServer): string {
  return s.hostname.includes(":") ? `[${s.hostname}]:${s.port}` : `${s.hostname}:${s.port}`;
}
