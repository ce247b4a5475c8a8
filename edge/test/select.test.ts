import { describe, expect, it } from "vitest";
import { geoFromCf, haversineKm, locationHintFor } from "../src/lib/geo.ts";
import { selectNearest } from "../src/registry/select/nearest.ts";
import type { NodeCandidate } from "../src/registry/select/strategy.ts";
import { nodeLoad } from "./support/fixtures.ts";

const load = nodeLoad;

const node = (id: string, lat: number, lon: number, over: Partial<NodeCandidate> = {}): NodeCandidate => ({
  id,
  kind: "sfu",
  region: id,
  lat,
  lon,
  healthy: true,
  load: load(),
  ...over,
});

const FRANKFURT = node("fra", 50.11, 8.68);
const VIRGINIA = node("iad", 38.95, -77.45);
const SINGAPORE = node("sin", 1.35, 103.82);
const FLEET = [FRANKFURT, VIRGINIA, SINGAPORE];

describe("haversineKm", () => {
  it("matches known great-circle distances", () => {
    // London - New York is about 5,570 km.
    expect(haversineKm({ lat: 51.5074, lon: -0.1278 }, { lat: 40.7128, lon: -74.006 })).toBeCloseTo(5570, -1);
    expect(haversineKm({ lat: 10, lon: 10 }, { lat: 10, lon: 10 })).toBe(0);
    // Antipodes: half the circumference.
    expect(haversineKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 })).toBeCloseTo(Math.PI * 6371.0088, 3);
  });
});

describe("selectNearest", () => {
  it.each([
    ["Paris", { lat: 48.85, lon: 2.35 }, "fra"],
    ["Toronto", { lat: 43.65, lon: -79.38 }, "iad"],
    ["Sydney", { lat: -33.87, lon: 151.21 }, "sin"],
    ["Honolulu (across the date line)", { lat: 21.3, lon: -157.85 }, "iad"],
  ])("sends a participant in %s to the closest node", (_city, point, expected) => {
    expect(selectNearest(FLEET, { kind: "sfu", point })?.nodeId).toBe(expected);
  });

  it("reports the distance of its choice", () => {
    const choice = selectNearest(FLEET, { kind: "sfu", point: { lat: 50.11, lon: 8.68 } });
    expect(choice).toEqual({ nodeId: "fra", region: "fra", distanceKm: 0 });
  });

  it("skips unhealthy, draining and other-kind nodes", () => {
    const paris = { lat: 48.85, lon: 2.35 };
    const fleet = [
      { ...FRANKFURT, healthy: false },
      node("ams", 52.37, 4.9, { load: load({ state: "draining" }) }),
      node("cdg-turn", 49.0, 2.55, { kind: "turn" }),
      VIRGINIA,
    ];
    expect(selectNearest(fleet, { kind: "sfu", point: paris })?.nodeId).toBe("iad");
    expect(selectNearest(fleet, { kind: "turn", point: paris })?.nodeId).toBe("cdg-turn");
  });

  it("without a location picks the least utilized node", () => {
    const fleet = [node("a", 0, 0, { load: load({ utilization: 0.7 }) }), node("b", 0, 0, { load: load({ utilization: 0.2 }) })];
    expect(selectNearest(fleet, { kind: "sfu" })).toEqual({ nodeId: "b", region: "b" });
  });

  it("breaks ties by id, whatever the registration order", () => {
    const twins = [node("b", 10, 10), node("a", 10, 10)];
    expect(selectNearest(twins, { kind: "sfu", point: { lat: 0, lon: 0 } })?.nodeId).toBe("a");
    expect(selectNearest([...twins].reverse(), { kind: "sfu", point: { lat: 0, lon: 0 } })?.nodeId).toBe("a");
  });

  it("returns undefined when nothing is eligible", () => {
    expect(selectNearest([], { kind: "sfu" })).toBeUndefined();
    expect(selectNearest([{ ...FRANKFURT, healthy: false }], { kind: "sfu" })).toBeUndefined();
  });
});

describe("request geography", () => {
  it("reads request.cf coordinates, which arrive as strings", () => {
    expect(geoFromCf({ latitude: "48.85", longitude: "2.35", continent: "EU", country: "FR", colo: "CDG" })).toEqual({
      point: { lat: 48.85, lon: 2.35 },
      continent: "EU",
      country: "FR",
      colo: "CDG",
    });
  });

  it("drops coordinates that are missing or out of range", () => {
    expect(geoFromCf({ latitude: "91", longitude: "2" }).point).toBeUndefined();
    expect(geoFromCf({ latitude: "", longitude: "2" }).point).toBeUndefined();
    expect(geoFromCf({ latitude: "abc", longitude: "2" }).point).toBeUndefined();
    expect(geoFromCf(undefined)).toEqual({});
  });

  it("maps continents to Durable Object location hints", () => {
    expect(locationHintFor({ continent: "NA", point: { lat: 37.7, lon: -122.4 } })).toBe("wnam");
    expect(locationHintFor({ continent: "NA", point: { lat: 40.7, lon: -74 } })).toBe("enam");
    expect(locationHintFor({ continent: "EU", point: { lat: 48.8, lon: 2.3 } })).toBe("weur");
    expect(locationHintFor({ continent: "EU", point: { lat: 52.2, lon: 21 } })).toBe("eeur");
    expect(locationHintFor({ continent: "AS", point: { lat: 25.2, lon: 55.3 } })).toBe("me");
    expect(locationHintFor({ continent: "AS", point: { lat: 35.7, lon: 139.7 } })).toBe("apac");
    expect(locationHintFor({ continent: "OC" })).toBe("oc");
    expect(locationHintFor({})).toBeUndefined();
  });
});
