/** Resolving Felix config from flags, environment, INI file and etcd. */
import assert from "node:assert/strict";
import { configInputs } from "../fixtures/config_inputs.ts";
import {
  changedParams,
  type ConfigInputs,
  type ConfigResolution,
  describeConfig,
  describeSource,
  etcdEndpointsOf,
  formatParam,
  resolveConfig,
} from "../../src/config/resolve.ts";
import { type FelixConfig, kebabName, PARAM_LIST, PARAMS } from "../../src/config/params.ts";

function ok(r: ConfigResolution): FelixConfig {
  assert.equal(r.fatal, undefined, `unexpected fatal: ${r.fatal}`);
  assert.ok(r.config);
  return r.config;
}

function fatalOf(r: ConfigResolution): string {
  assert.equal(r.config, undefined);
  assert.ok(r.fatal, "expected a fatal line");
  assert.ok(!r.fatal.includes("\n"), "fatal must be one line");
  return r.fatal;
}

Deno.test("defaults match Felix 2.6 and the hostfence additions", () => {
  const r = resolveConfig(configInputs());
  const c = ok(r);
  assert.equal(c.datastoreType, "etcdv2");
  assert.equal(c.felixHostname, "h1");
  assert.deepEqual(c.etcdEndpoints, []);
  assert.equal(c.etcdAddr, "127.0.0.1:2379");
  assert.equal(c.etcdScheme, "http");
  assert.deepEqual(c.interfacePrefix, ["cali"]);
  assert.equal(formatParam("FailsafeInboundHostPorts", c), "tcp:22,udp:68");
  assert.equal(
    formatParam("FailsafeOutboundHostPorts", c),
    "tcp:2379,tcp:2380,tcp:4001,tcp:7001,udp:53,udp:67",
  );
  assert.equal(c.defaultEndpointToHostAction, "DROP");
  assert.equal(c.iptablesMarkMask, 0xff000000);
  assert.equal(c.logPrefix, "calico-packet");
  assert.equal(c.disableConntrackInvalidCheck, false);
  assert.equal(c.ipv6Support, true);
  assert.equal(c.nftablesRefreshInterval, 90);
  assert.equal(c.logFilePath, "/var/log/calico/felix.log");
  assert.equal(c.logSeverityFile, "INFO");
  assert.equal(c.logSeverityScreen, "INFO");
  assert.equal(c.logSeveritySys, "INFO");
  assert.equal(c.reportingIntervalSecs, 30);
  assert.equal(c.reportingTTLSecs, 90);
  assert.equal(c.endpointReportingEnabled, false);
  assert.equal(c.endpointReportingDelaySecs, 1);
  assert.equal(c.prometheusMetricsEnabled, false);
  assert.equal(c.prometheusMetricsPort, 9091);
  assert.equal(c.healthEnabled, false);
  assert.equal(c.healthPort, 9099);
  assert.equal(c.healthHost, "127.0.0.1");
  assert.equal(c.resyncIntervalSecs, 300);
  assert.equal(c.hostEndpointAllowNDP, true);
  assert.equal(c.clusterGUID, "baddecaf");
  assert.equal(c.clusterType, "");
  assert.equal(c.calicoVersion, "");
  assert.equal(c.usageReportingEnabled, false);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.sources.get("FelixHostname"), "default (OS host name)");
  assert.equal(r.sources.get("LogPrefix"), "default");
  // Every field of the config is set.
  for (const p of PARAM_LIST) assert.ok(p.field in c, p.field);
});

Deno.test("precedence: flag > env > file > etcd per-host > etcd global > default", async (t) => {
  const all = configInputs({
    flags: new Map([["LogPrefix", "from-flag"]]),
    env: { FELIX_LOGPREFIX: "from-env" },
    fileText: "[global]\nLogPrefix = from-file\n",
    filePath: "/etc/calico/felix.cfg",
    datastoreHost: new Map([["LogPrefix", "from-host"]]),
    datastoreGlobal: new Map([["LogPrefix", "from-global"]]),
  });
  const cases: [string, Partial<ConfigInputs>, string, string][] = [
    ["command line wins over everything", {}, "from-flag", "command line"],
    [
      "environment is next",
      { flags: new Map() },
      "from-env",
      "environment variable FELIX_LOGPREFIX",
    ],
    [
      "then the config file",
      { flags: new Map(), env: {} },
      "from-file",
      "config file /etc/calico/felix.cfg line 2",
    ],
    [
      "then the per-host etcd key",
      { flags: new Map(), env: {}, fileText: "" },
      "from-host",
      "datastore (per-host) key /calico/v1/host/h1/config/LogPrefix",
    ],
    [
      "then the global etcd key",
      { flags: new Map(), env: {}, fileText: "", datastoreHost: new Map() },
      "from-global",
      "datastore (global) key /calico/v1/config/LogPrefix",
    ],
    [
      "then the default",
      {
        flags: new Map(),
        env: {},
        fileText: "",
        datastoreHost: new Map(),
        datastoreGlobal: new Map(),
      },
      "calico-packet",
      "default",
    ],
  ];
  for (const [name, over, want, source] of cases) {
    await t.step(name, () => {
      const r = resolveConfig({ ...all, ...over });
      assert.equal(ok(r).logPrefix, want);
      assert.equal(r.sources.get("LogPrefix"), source);
    });
  }
});

Deno.test("per-host etcd keys are named after the FelixHostname from local sources", () => {
  const r = resolveConfig(configInputs({
    env: { FELIX_FELIXHOSTNAME: "web1" },
    datastoreHost: new Map([["Ipv6Support", "false"]]),
  }));
  assert.equal(ok(r).felixHostname, "web1");
  assert.equal(r.sources.get("FelixHostname"), "environment variable FELIX_FELIXHOSTNAME");
  assert.equal(
    r.sources.get("Ipv6Support"),
    "datastore (per-host) key /calico/v1/host/web1/config/Ipv6Support",
  );
});

Deno.test("names match case-insensitively in every source", () => {
  const c = ok(resolveConfig(configInputs({
    flags: new Map([["logprefix", "f"]]),
    env: { felix_ipv6support: "false", Felix_LogSeverityScreen: "debug" },
    fileText: "interfaceprefix = tap\n",
    datastoreHost: new Map([["REPORTINGINTERVALSECS", "5"]]),
    datastoreGlobal: new Map([["healthenabled", "true"]]),
  })));
  assert.equal(c.logPrefix, "f");
  assert.equal(c.ipv6Support, false);
  assert.equal(c.logSeverityScreen, "DEBUG");
  assert.deepEqual(c.interfacePrefix, ["tap"]);
  assert.equal(c.reportingIntervalSecs, 5);
  assert.equal(c.healthEnabled, true);
});

Deno.test("FELIX_ environment variables: prefix in any case, other variables ignored", () => {
  const r = resolveConfig(configInputs({
    env: {
      FELIX_FAILSAFEINBOUNDHOSTPORTS: "tcp:2222",
      felix_logfilepath: "none",
      PATH: "/usr/bin",
      FELIXLOGPREFIX: "not-ours",
      FELIX_: "nothing",
    },
  }));
  const c = ok(r);
  assert.equal(formatParam("FailsafeInboundHostPorts", c), "tcp:2222");
  assert.equal(c.logFilePath, "");
  assert.equal(c.logPrefix, "calico-packet");
  assert.deepEqual(r.warnings, []);
});

Deno.test("none sets the zero value; failsafes can be switched off (O8)", () => {
  const c = ok(resolveConfig(configInputs({
    env: {
      FELIX_FAILSAFEINBOUNDHOSTPORTS: "none",
      FELIX_FAILSAFEOUTBOUNDHOSTPORTS: "NONE",
      FELIX_LOGFILEPATH: "None",
      FELIX_LOGSEVERITYSCREEN: "none",
      FELIX_IPV6SUPPORT: "none",
      FELIX_HEALTHPORT: "none",
      FELIX_CLUSTERGUID: "none",
    },
  })));
  assert.deepEqual(c.failsafeInboundHostPorts, []);
  assert.deepEqual(c.failsafeOutboundHostPorts, []);
  assert.equal(c.logFilePath, "");
  assert.equal(c.logSeverityScreen, null);
  assert.equal(c.ipv6Support, false);
  assert.equal(c.healthPort, 0);
  assert.equal(c.clusterGUID, "");
});

Deno.test("none is refused for non-zero parameters", async (t) => {
  await t.step("die-on-fail non-zero parameter stops resolution", () => {
    const f = fatalOf(resolveConfig(configInputs({ env: { FELIX_INTERFACEPREFIX: "none" } })));
    assert.match(f, /^Invalid value for InterfacePrefix from environment variable/);
    assert.match(f, /"none": InterfacePrefix cannot be none/);
  });
  await t.step("other non-zero parameter falls back to the default", () => {
    const r = resolveConfig(configInputs({ env: { FELIX_HEALTHHOST: "none" } }));
    assert.equal(ok(r).healthHost, "127.0.0.1");
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0] ?? "", /^Replacing invalid value with default "127.0.0.1"/);
  });
});

Deno.test("bare failsafe port means tcp (O9)", () => {
  const c = ok(resolveConfig(configInputs({ env: { FELIX_FAILSAFEINBOUNDHOSTPORTS: "2222" } })));
  assert.deepEqual(c.failsafeInboundHostPorts, [{ protocol: "tcp", port: 2222 }]);
});

Deno.test("bad failsafe syntax rejects the whole config with one line (O10)", async (t) => {
  await t.step("from the command line", () => {
    const f = fatalOf(resolveConfig(configInputs({
      flags: new Map([["FailsafeInboundHostPorts", "foo:1"]]),
    })));
    assert.equal(
      f,
      'Invalid value for FailsafeInboundHostPorts from command line: "foo:1": ' +
        'unknown protocol "foo" in "foo:1" (expected tcp or udp)',
    );
  });
  await t.step("from etcd, naming the key", () => {
    const f = fatalOf(resolveConfig(configInputs({
      datastoreGlobal: new Map([["FailsafeOutboundHostPorts", "tcp:99999"]]),
    })));
    assert.match(
      f,
      /^Invalid value for FailsafeOutboundHostPorts from datastore \(global\) key \/calico\/v1\/config\/FailsafeOutboundHostPorts: "tcp:99999": /,
    );
  });
});

Deno.test("other die-on-fail parameters", () => {
  for (
    const [name, value] of [
      ["InterfacePrefix", "way-too-long-prefix"],
      ["DefaultEndpointToHostAction", "REJECT"],
      ["LogFilePath", "relative.log"],
      ["IptablesMarkMask", "0x1"],
      ["DatastoreType", "consul"],
      ["EtcdEndpoints", "etcd:2379"],
      ["FelixHostname", "bad host"],
    ]
  ) {
    const f = fatalOf(resolveConfig(configInputs({ env: { [`FELIX_${name}`]: value as string } })));
    assert.ok(
      f.startsWith(
        `Invalid value for ${name} from environment variable FELIX_${name}: "${value}": `,
      ),
      f,
    );
  }
});

Deno.test("non-die-on-fail bad values fall back to the default with a warning", () => {
  const r = resolveConfig(configInputs({
    env: { FELIX_LOGSEVERITYSCREEN: "CRITICAL", FELIX_HEALTHPORT: "http" },
  }));
  const c = ok(r);
  assert.equal(c.logSeverityScreen, "INFO");
  assert.equal(c.healthPort, 9099);
  assert.deepEqual(r.warnings, [
    'Replacing invalid value with default "INFO": Invalid value for LogSeverityScreen from ' +
    'environment variable FELIX_LOGSEVERITYSCREEN: "CRITICAL": must be one of DEBUG, INFO, ' +
    "WARNING, ERROR, FATAL (or none)",
    'Replacing invalid value with default "9099": Invalid value for HealthPort from environment ' +
    'variable FELIX_HEALTHPORT: "http": must be a whole number',
  ]);
  assert.match(r.sources.get("HealthPort") ?? "", /^default \(invalid value from environment/);
});

Deno.test("an invalid value in an overridden source only warns", () => {
  const r = resolveConfig(configInputs({
    flags: new Map([["FailsafeInboundHostPorts", "tcp:22"]]),
    datastoreGlobal: new Map([["FailsafeInboundHostPorts", "foo:1"]]),
  }));
  assert.equal(formatParam("FailsafeInboundHostPorts", ok(r)), "tcp:22");
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0] ?? "", /\(ignored: overridden by command line\)$/);
});

Deno.test("empty values are ignored so the next source wins", () => {
  const r = resolveConfig(configInputs({
    env: { FELIX_LOGPREFIX: "  " },
    datastoreGlobal: new Map([["LogPrefix", "from-etcd"]]),
  }));
  assert.equal(ok(r).logPrefix, "from-etcd");
  assert.ok(
    r.notes.some((n) => n.severity === "INFO" && /empty value for LogPrefix/.test(n.message)),
  );
});

Deno.test("local-only parameters are ignored with a warning when found in etcd", () => {
  const r = resolveConfig(configInputs({
    datastoreGlobal: new Map([
      ["FelixHostname", "evil"],
      ["EtcdEndpoints", "http://10.9.9.9:2379"],
      ["EtcdAddr", "10.9.9.9:2379"],
      ["EtcdScheme", "https"],
    ]),
    datastoreHost: new Map([["EtcdCaFile", "/tmp/ca.pem"], ["EtcdKeyFile", "/k"], [
      "EtcdCertFile",
      "/c",
    ]]),
  }));
  const c = ok(r);
  assert.equal(c.felixHostname, "h1");
  assert.deepEqual(c.etcdEndpoints, []);
  assert.equal(c.etcdAddr, "127.0.0.1:2379");
  assert.equal(c.etcdScheme, "http");
  assert.equal(c.etcdCaFile, "");
  assert.equal(r.warnings.length, 7);
  for (const w of r.warnings) {
    assert.match(
      w,
      /^Ignoring local-only config param Etcd|^Ignoring local-only config param FelixHostname/,
    );
  }
});

Deno.test("unknown parameters warn; iptables-only ones are noted at debug level", () => {
  const r = resolveConfig(configInputs({
    env: { FELIX_NOSUCHTHING: "1" },
    datastoreGlobal: new Map([["IptablesLockFilePath", "/run/xtables.lock"], ["Bogus", "x"]]),
  }));
  ok(r);
  assert.deepEqual(r.warnings, [
    'Ignoring unknown config param. name="nosuchthing" source=environment variable FELIX_NOSUCHTHING',
    'Ignoring unknown config param. name="Bogus" source=datastore (global) key /calico/v1/config/Bogus',
  ]);
  assert.ok(
    r.notes.some((n) => n.severity === "DEBUG" && n.message.includes("IptablesLockFilePath")),
  );
});

Deno.test("IptablesRefreshInterval is an alias of NftablesRefreshInterval", async (t) => {
  await t.step("alias alone", () => {
    const r = resolveConfig(configInputs({ env: { FELIX_IPTABLESREFRESHINTERVAL: "0" } }));
    assert.equal(ok(r).nftablesRefreshInterval, 0);
    assert.equal(
      r.sources.get("NftablesRefreshInterval"),
      "environment variable FELIX_IPTABLESREFRESHINTERVAL",
    );
  });
  await t.step("precedence still applies across names", () => {
    const r = resolveConfig(configInputs({
      env: { FELIX_IPTABLESREFRESHINTERVAL: "10" },
      datastoreGlobal: new Map([["NftablesRefreshInterval", "20"]]),
    }));
    assert.equal(ok(r).nftablesRefreshInterval, 10);
  });
  await t.step("both in one source: a warning, one wins", () => {
    const r = resolveConfig(configInputs({
      fileText: "NftablesRefreshInterval = 5\nIptablesRefreshInterval = 7\n",
    }));
    assert.equal(ok(r).nftablesRefreshInterval, 7);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0] ?? "", /NftablesRefreshInterval is set more than once/);
  });
});

Deno.test("INI file: sections merged, duplicates warn and the later wins", () => {
  const r = resolveConfig(configInputs({
    filePath: "/tmp/felix.cfg",
    fileText: [
      "# Felix config",
      "[global]",
      "LogPrefix = first",
      "Ipv6Support: false",
      "[other]",
      "logprefix = second",
    ].join("\n"),
  }));
  const c = ok(r);
  assert.equal(c.logPrefix, "second");
  assert.equal(c.ipv6Support, false);
  assert.deepEqual(r.warnings, [
    "LogPrefix is set more than once: config file /tmp/felix.cfg line 6 replaces " +
    "config file /tmp/felix.cfg line 3",
  ]);
  assert.equal(r.sources.get("LogPrefix"), "config file /tmp/felix.cfg line 6");
});

Deno.test("a malformed INI file is fatal, naming file and line", () => {
  const f = fatalOf(resolveConfig(configInputs({
    filePath: "/etc/calico/felix.cfg",
    fileText: "[global]\nLogPrefix = x\nthis is not ini\n",
  })));
  assert.match(f, /^Error parsing config file \/etc\/calico\/felix.cfg line 3 column 1: /);
});

Deno.test("FelixHostname falls back to the detected host name and must be usable", () => {
  const f = fatalOf(resolveConfig(configInputs({ detectedHostname: "" })));
  assert.match(f, /^FelixHostname is not set and the OS host name "" cannot be used/);
  const f2 = fatalOf(resolveConfig(configInputs({ detectedHostname: "bad name" })));
  assert.match(f2, /OS host name "bad name" cannot be used/);
  assert.equal(
    ok(
      resolveConfig(
        configInputs({ detectedHostname: "", flags: new Map([["FelixHostname", "x"]]) }),
      ),
    )
      .felixHostname,
    "x",
  );
});

Deno.test("cross checks: datastore type, etcd location, TLS pair", () => {
  assert.match(
    fatalOf(resolveConfig(configInputs({ env: { FELIX_DATASTORETYPE: "Kubernetes" } }))),
    /^Unsupported value for DatastoreType from environment variable FELIX_DATASTORETYPE: "kubernetes": hostfence supports etcdv2 and local only$/,
  );
  assert.match(
    fatalOf(resolveConfig(configInputs({ env: { FELIX_ETCDADDR: "none" } }))),
    /^No etcd location configured/,
  );
  assert.match(
    fatalOf(resolveConfig(configInputs({ env: { FELIX_ETCDKEYFILE: "/k.pem" } }))),
    /^EtcdKeyFile and EtcdCertFile must be set together/,
  );
});

Deno.test("DatastoreType local: PolicyDir from file, env or flag; no etcd location needed", () => {
  const c = ok(resolveConfig(configInputs({
    fileText: "[global]\nDatastoreType = local\n",
    filePath: "/etc/calico/felix.cfg",
    env: { FELIX_ETCDADDR: "none" },
  })));
  assert.equal(c.datastoreType, "local");
  assert.equal(c.policyDir, "/etc/hostfence/policy.d");
  const e = ok(resolveConfig(configInputs({
    env: { FELIX_DATASTORETYPE: "LOCAL", FELIX_POLICYDIR: "/srv/policy" },
  })));
  assert.deepEqual([e.datastoreType, e.policyDir], ["local", "/srv/policy"]);
  const f = ok(resolveConfig(configInputs({
    env: { FELIX_POLICYDIR: "/srv/policy" },
    flags: new Map([["DatastoreType", "local"], ["PolicyDir", "/x/y"]]),
  })));
  assert.equal(f.policyDir, "/x/y");
  assert.equal(
    fatalOf(resolveConfig(configInputs({ env: { FELIX_POLICYDIR: "policy.d" } }))),
    'Invalid value for PolicyDir from environment variable FELIX_POLICYDIR: "policy.d": ' +
      "must be an absolute path",
  );
  // Neither can come from the datastore: the datastore cannot say where the datastore is.
  const d = resolveConfig(configInputs({ datastoreGlobal: new Map([["DatastoreType", "local"]]) }));
  assert.equal(ok(d).datastoreType, "etcdv2");
});

Deno.test("must-exist files are checked through the injected checker", () => {
  const f = fatalOf(resolveConfig(configInputs({
    env: { FELIX_ETCDCAFILE: "/nope/ca.pem" },
    fileExists: () => false,
  })));
  assert.equal(
    f,
    'Invalid value for EtcdCaFile from environment variable FELIX_ETCDCAFILE: "/nope/ca.pem": ' +
      "file does not exist",
  );
});

Deno.test("etcd endpoints: EtcdEndpoints wins, else scheme://addr", () => {
  assert.deepEqual(etcdEndpointsOf(ok(resolveConfig(configInputs()))), ["http://127.0.0.1:2379"]);
  assert.deepEqual(
    etcdEndpointsOf(ok(resolveConfig(configInputs({
      env: { FELIX_ETCDENDPOINTS: "http://198.18.0.1:2379,http://198.18.0.2:2379" },
    })))),
    ["http://198.18.0.1:2379", "http://198.18.0.2:2379"],
  );
  assert.deepEqual(
    etcdEndpointsOf(ok(resolveConfig(configInputs({
      env: { FELIX_ETCDSCHEME: "HTTPS", FELIX_ETCDADDR: "etcd:4001" },
    })))),
    ["https://etcd:4001"],
  );
});

Deno.test("command-line flags may use kebab-case names", () => {
  const c = ok(resolveConfig(configInputs({
    flags: new Map([["failsafe-inbound-host-ports", "udp:1"], ["log-prefix", "k"]]),
  })));
  assert.equal(formatParam("FailsafeInboundHostPorts", c), "udp:1");
  assert.equal(c.logPrefix, "k");
});

Deno.test("start-up lines say value and source for each parameter", () => {
  const r = resolveConfig(configInputs({ env: { FELIX_FELIXHOSTNAME: "h1" } }));
  const config = ok(r);
  assert.equal(
    describeSource("felixhostname", { config, sources: r.sources }),
    "Parameter FelixHostname (Felix compute host hostname) has value 'h1' read from " +
      "environment variable FELIX_FELIXHOSTNAME",
  );
  assert.equal(
    describeSource("IptablesMarkMask", { config, sources: r.sources }),
    "Parameter IptablesMarkMask (Packet-mark bits hostfence may use) has value '0xff000000' " +
      "read from default",
  );
  assert.equal(describeConfig({ config, sources: r.sources }).length, PARAM_LIST.length);
  assert.throws(() => describeSource("Nope", { config, sources: r.sources }), RangeError);
});

Deno.test("changedParams lists exactly the parameters whose values moved", () => {
  const a = ok(resolveConfig(configInputs()));
  const b = ok(resolveConfig(configInputs({
    datastoreGlobal: new Map([
      ["FailsafeInboundHostPorts", "tcp:22,udp:68"],
      ["LogSeverityScreen", "debug"],
      ["ClusterGUID", "abc"],
    ]),
    datastoreHost: new Map([["FailsafeOutboundHostPorts", "tcp:2379"]]),
  })));
  assert.deepEqual(changedParams(a, b), [
    "FailsafeOutboundHostPorts",
    "LogSeverityScreen",
    "ClusterGUID",
  ]);
  assert.deepEqual(changedParams(a, a), []);
});

Deno.test("every parameter has a unique name and kebab flag", () => {
  const names = new Set<string>();
  const flags = new Set<string>();
  for (const p of PARAM_LIST) {
    assert.ok(!names.has(p.name.toLowerCase()), p.name);
    names.add(p.name.toLowerCase());
    const k = kebabName(p.name);
    assert.match(k, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.ok(!flags.has(k), k);
    flags.add(k);
  }
  assert.equal(kebabName(PARAMS.reportingTTLSecs.name), "reporting-ttl-secs");
  assert.equal(kebabName(PARAMS.ipv6Support.name), "ipv6-support");
  assert.equal(kebabName(PARAMS.clusterGUID.name), "cluster-guid");
  assert.equal(kebabName(PARAMS.hostEndpointAllowNDP.name), "host-endpoint-allow-ndp");
  assert.equal(kebabName(PARAMS.etcdCaFile.name), "etcd-ca-file");
});
