import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";

const SECRET = "0123456789abcdef-secret";

describe("loadConfig", () => {
  it("fills validated defaults for local development", () => {
    const config = loadConfig({ NODE_SECRET: SECRET, NODE_ID: "local-1" });
    expect(config).toMatchObject({
      edgeUrl: "ws://127.0.0.1:8787",
      nodeId: "local-1",
      region: "local",
      lat: 0,
      lon: 0,
      listenIp: "127.0.0.1",
      announcedAddress: undefined,
      rtcPortBase: 40000,
      loadReportIntervalMs: 5000,
      logLevel: "info",
      metricsIp: "127.0.0.1",
      metricsPort: 9310,
      drainTimeoutMs: 600_000,
    });
    expect(config.numWorkers).toBeGreaterThan(0);
    // Pipes listen where media does, on ports.json's pipe range.
    expect(config.pipe).toEqual({ ip: "127.0.0.1", announcedAddress: undefined, portRange: { min: 41000, max: 41999 }, maxPipedProducers: 10_000 });
  });

  it("announces pipes at the public address by default, or where PIPE_* says", () => {
    const wildcard = { NODE_SECRET: SECRET, LISTEN_IP: "0.0.0.0", ANNOUNCED_ADDRESS: "203.0.113.7" };
    expect(loadConfig(wildcard).pipe).toMatchObject({ ip: "0.0.0.0", announcedAddress: "203.0.113.7" });
    expect(
      loadConfig({ ...wildcard, PIPE_LISTEN_IP: "10.0.1.5", PIPE_ANNOUNCED_ADDRESS: "10.0.1.5", PIPE_PORT_MIN: "42000", PIPE_PORT_MAX: "42099", MAX_PIPED_PRODUCERS: "50" }).pipe,
    ).toEqual({ ip: "10.0.1.5", announcedAddress: "10.0.1.5", portRange: { min: 42000, max: 42099 }, maxPipedProducers: 50 });
  });

  it("reads every variable", () => {
    const config = loadConfig({
      EDGE_URL: "https://meridian.example.com",
      NODE_SECRET: SECRET,
      NODE_ID: "fra-1",
      NODE_REGION: "eu-central",
      NODE_LAT: "50.11",
      NODE_LON: "-8.68",
      MEDIASOUP_NUM_WORKERS: "4",
      LISTEN_IP: "0.0.0.0",
      ANNOUNCED_ADDRESS: "203.0.113.7",
      RTC_PORT_BASE: "44000",
      LOG_LEVEL: "warn",
    });
    expect(config).toMatchObject({ lat: 50.11, lon: -8.68, numWorkers: 4, rtcPortBase: 44000, announcedAddress: "203.0.113.7" });
  });

  it.each([
    ["a missing secret", {}, /NODE_SECRET/],
    ["a short secret", { NODE_SECRET: "short" }, /NODE_SECRET.*16/],
    ["a latitude out of range", { NODE_SECRET: SECRET, NODE_LAT: "91" }, /NODE_LAT/],
    ["a non-numeric longitude", { NODE_SECRET: SECRET, NODE_LON: "east" }, /NODE_LON/],
    ["a fractional worker count", { NODE_SECRET: SECRET, MEDIASOUP_NUM_WORKERS: "1.5" }, /MEDIASOUP_NUM_WORKERS/],
    ["a wildcard listen address without an announced one", { NODE_SECRET: SECRET, LISTEN_IP: "0.0.0.0" }, /ANNOUNCED_ADDRESS/],
    ["a bad listen address", { NODE_SECRET: SECRET, LISTEN_IP: "localhost" }, /LISTEN_IP/],
    ["an edge URL with another scheme", { NODE_SECRET: SECRET, EDGE_URL: "ftp://edge" }, /EDGE_URL/],
    ["a node id with a slash", { NODE_SECRET: SECRET, NODE_ID: "a/b" }, /NODE_ID/],
    ["ports past 65535", { NODE_SECRET: SECRET, RTC_PORT_BASE: "65000", MEDIASOUP_NUM_WORKERS: "600" }, /MEDIASOUP_NUM_WORKERS|65535/],
    ["an announced host name for pipes on a wildcard address", { NODE_SECRET: SECRET, LISTEN_IP: "0.0.0.0", ANNOUNCED_ADDRESS: "media.example.com" }, /PIPE_ANNOUNCED_ADDRESS/],
    ["an empty pipe port range", { NODE_SECRET: SECRET, PIPE_PORT_MIN: "42000", PIPE_PORT_MAX: "41000" }, /PIPE_PORT_MIN/],
  ])("refuses %s with a message naming the variable", (_name, env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
