/** The heartbeat and endpoint status JSON: shape, key order, time format, tolerant parsing. */
import { deepStrictEqual as assertEquals, equal } from "node:assert/strict";
import {
  encodeEndpointStatus,
  encodeStatusReport,
  formatReportTime,
  parseEndpointStatus,
  parseStatusReport,
  statusReport,
} from "../../src/status/report.ts";

Deno.test({
  name: "Report times are RFC 3339 in UTC with whole seconds, like Felix's",
  fn() {
    equal(formatReportTime(new Date("2017-10-01T12:00:00.000Z")), "2017-10-01T12:00:00Z");
    equal(formatReportTime(new Date("2017-10-01T12:00:59.999Z")), "2017-10-01T12:00:59Z");
    // A local-time input still comes out in UTC.
    equal(formatReportTime(new Date("2017-10-01T14:30:05+02:00")), "2017-10-01T12:30:05Z");
  },
});

Deno.test({
  name: "A heartbeat encodes as time, uptime (float seconds) and first_update, in that order",
  fn() {
    const text = encodeStatusReport(
      statusReport(new Date("2017-10-01T12:00:00.250Z"), 12.5, true),
    );
    equal(text, '{"time":"2017-10-01T12:00:00Z","uptime":12.5,"first_update":true}');
    equal(
      encodeStatusReport(statusReport(new Date(0), 30, false)),
      '{"time":"1970-01-01T00:00:00Z","uptime":30,"first_update":false}',
    );
  },
});

Deno.test({
  name: "Heartbeat values read back; values of another shape read as undefined",
  fn() {
    assertEquals(
      parseStatusReport('{"time":"2017-10-01T12:00:00Z","uptime":3.25,"first_update":false}'),
      { time: "2017-10-01T12:00:00Z", uptime: 3.25, first_update: false },
    );
    // Felix's Python era wrote no first_update; missing uptime reads as 0.
    assertEquals(parseStatusReport('{"time":"2017-10-01T12:00:00Z"}'), {
      time: "2017-10-01T12:00:00Z",
      uptime: 0,
      first_update: false,
    });
    equal(parseStatusReport("not json"), undefined);
    equal(parseStatusReport("[]"), undefined);
    equal(parseStatusReport('{"time":"yesterday"}'), undefined);
    equal(parseStatusReport('{"uptime":1}'), undefined);
  },
});

Deno.test({
  name: 'Endpoint statuses encode as {"status":...} and only up/down/error read back',
  fn() {
    equal(encodeEndpointStatus("up"), '{"status":"up"}');
    equal(encodeEndpointStatus("error"), '{"status":"error"}');
    equal(parseEndpointStatus('{"status":"down"}'), "down");
    equal(parseEndpointStatus('{"status":"sideways"}'), undefined);
    equal(parseEndpointStatus('{"status":1}'), undefined);
    equal(parseEndpointStatus("null"), undefined);
    equal(parseEndpointStatus("{"), undefined);
  },
});
