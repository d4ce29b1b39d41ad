/**
 * The Prometheus text encoder and the histogram accumulator: exact text for counters, gauges
 * and histograms (HELP/TYPE lines, label escaping, cumulative `le` buckets ending in `+Inf`,
 * `_sum` and `_count`), and refusal of families Prometheus would reject.
 */
import assert from "node:assert/strict";
import {
  encodeText,
  escapeHelp,
  escapeLabelValue,
  formatValue,
  Histogram,
  type MetricFamily,
} from "../../src/observe/mod.ts";

Deno.test("counters and gauges encode with HELP, TYPE and labels in the given order", () => {
  const text = encodeText([
    {
      name: "hostfence_policy_packets_total",
      help: "Packets matched.",
      type: "counter",
      samples: [
        { labels: { policy: "web", direction: "ingress" }, value: 12 },
        { labels: { policy: "db", direction: "egress" }, value: 0 },
      ],
    },
    { name: "hostfence_resync_state", help: "State.", type: "gauge", samples: [{ value: 3 }] },
    { name: "hostfence_empty", help: "Nothing yet.", type: "gauge", samples: [] },
  ]);
  assert.equal(
    text,
    [
      "# HELP hostfence_policy_packets_total Packets matched.",
      "# TYPE hostfence_policy_packets_total counter",
      'hostfence_policy_packets_total{policy="web",direction="ingress"} 12',
      'hostfence_policy_packets_total{policy="db",direction="egress"} 0',
      "# HELP hostfence_resync_state State.",
      "# TYPE hostfence_resync_state gauge",
      "hostfence_resync_state 3",
      "# HELP hostfence_empty Nothing yet.",
      "# TYPE hostfence_empty gauge",
      "",
    ].join("\n"),
  );
  assert.equal(encodeText([]), "");
});

Deno.test("label values escape backslash, double quote and newline; HELP escapes backslash and newline", async (t) => {
  await t.step("label values", () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), '"a\\\\b\\"c\\nd"');
    assert.equal(escapeLabelValue("plain/policy-1.x"), '"plain/policy-1.x"');
    assert.equal(escapeLabelValue("ünïcode ✓"), '"ünïcode ✓"');
  });
  await t.step("help text keeps quotes", () => {
    assert.equal(escapeHelp('say "hi"\\now\nnext'), 'say "hi"\\\\now\\nnext');
  });
  await t.step("in a whole family", () => {
    const text = encodeText([{
      name: "m",
      help: "line one\nline two",
      type: "counter",
      samples: [{ labels: { policy: 'we"ird\\name\n' }, value: 1 }],
    }]);
    assert.equal(
      text,
      '# HELP m line one\\nline two\n# TYPE m counter\nm{policy="we\\"ird\\\\name\\n"} 1\n',
    );
  });
});

Deno.test("special and large values use the spellings Prometheus parses", () => {
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(0.005), "0.005");
  assert.equal(formatValue(1.5e21), "1.5e+21");
  assert.equal(formatValue(-0), "0");
  assert.equal(formatValue(1700000000.25), "1700000000.25");
});

Deno.test("a histogram writes cumulative buckets, +Inf, _sum and _count", () => {
  const h = new Histogram([0.125, 0.25, 1]);
  for (const v of [0.0625, 0.125, 0.1875, 0.5, 2, 3]) h.observe(v);
  const text = encodeText([{
    name: "hostfence_dataplane_apply_time_seconds",
    help: "Apply time.",
    type: "histogram",
    samples: [h.snapshot({ result: "ok" })],
  }]);
  assert.equal(
    text,
    [
      "# HELP hostfence_dataplane_apply_time_seconds Apply time.",
      "# TYPE hostfence_dataplane_apply_time_seconds histogram",
      'hostfence_dataplane_apply_time_seconds_bucket{result="ok",le="0.125"} 2',
      'hostfence_dataplane_apply_time_seconds_bucket{result="ok",le="0.25"} 3',
      'hostfence_dataplane_apply_time_seconds_bucket{result="ok",le="1"} 4',
      'hostfence_dataplane_apply_time_seconds_bucket{result="ok",le="+Inf"} 6',
      'hostfence_dataplane_apply_time_seconds_sum{result="ok"} 5.875',
      'hostfence_dataplane_apply_time_seconds_count{result="ok"} 6',
      "",
    ].join("\n"),
  );
});

Deno.test("an empty histogram has zero buckets and no labels when none are given", () => {
  const text = encodeText([{
    name: "h",
    help: "x",
    type: "histogram",
    samples: [new Histogram([1]).snapshot()],
  }]);
  assert.equal(
    text,
    '# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 0\nh_bucket{le="+Inf"} 0\nh_sum 0\nh_count 0\n',
  );
});

Deno.test("families Prometheus would reject are refused", async (t) => {
  const bad: [string, MetricFamily, RegExp][] = [
    ["metric name", { name: "9x", help: "", type: "gauge", samples: [] }, /Invalid metric name/],
    [
      "label name",
      { name: "x", help: "", type: "gauge", samples: [{ labels: { "a-b": "1" }, value: 1 }] },
      /Invalid label name 'a-b'/,
    ],
    [
      "reserved label prefix",
      { name: "x", help: "", type: "gauge", samples: [{ labels: { __x: "1" }, value: 1 }] },
      /Invalid label name '__x'/,
    ],
    [
      "le on a histogram",
      {
        name: "x",
        help: "",
        type: "histogram",
        samples: [{ labels: { le: "1" }, buckets: [], count: 0, sum: 0 }],
      },
      /reserved label 'le'/,
    ],
    [
      "descending bounds",
      {
        name: "x",
        help: "",
        type: "histogram",
        samples: [{ buckets: [{ le: 2, count: 0 }, { le: 1, count: 0 }], count: 0, sum: 0 }],
      },
      /ascending/,
    ],
    [
      "non-cumulative counts",
      {
        name: "x",
        help: "",
        type: "histogram",
        samples: [{ buckets: [{ le: 1, count: 2 }, { le: 2, count: 1 }], count: 2, sum: 0 }],
      },
      /cumulative/,
    ],
    [
      "count below the last bucket",
      {
        name: "x",
        help: "",
        type: "histogram",
        samples: [{ buckets: [{ le: 1, count: 2 }], count: 1, sum: 0 }],
      },
      /below its last bucket/,
    ],
  ];
  for (const [what, family, re] of bad) {
    await t.step(what, () => assert.throws(() => encodeText([family]), re));
  }
  await t.step("duplicate family", () => {
    const f: MetricFamily = { name: "x", help: "", type: "gauge", samples: [] };
    assert.throws(() => encodeText([f, f]), /Duplicate metric family 'x'/);
  });
});

Deno.test("the histogram refuses bad bounds and NaN, and puts a value equal to a bound in that bucket", () => {
  assert.throws(() => new Histogram([1, 1]), RangeError);
  assert.throws(() => new Histogram([1, Infinity]), RangeError);
  const h = new Histogram([1, 2]);
  assert.throws(() => h.observe(NaN), RangeError);
  h.observe(1);
  h.observe(2);
  h.observe(-1);
  assert.deepEqual(h.snapshot(), {
    buckets: [{ le: 1, count: 2 }, { le: 2, count: 3 }],
    count: 3,
    sum: 2,
  });
  assert.equal(h.count, 3);
});
