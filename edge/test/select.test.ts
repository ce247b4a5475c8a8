import { describe, expect, it } from "vitest";
import { geoFromCf, haversineKm, locate } from "../src/lib/geo.ts";
import { locationHintFor } from "../src/lib/location-hint.ts";
import { withCapacityFilter } from "../src/registry/select/capacity.ts";
import { DEFAULT_LEGS, chooseLeg } from "../src/registry/select/legs.ts";
import { nearestN, selectNearest } from "../src/registry/select/nearest.ts";
import { placeRoom } from "../src/registry/select/policy.ts";
import { selectByScore } from "../src/registry/select/score.ts";
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

describe("nearestN", () => {
  it("ranks the nearest eligible nodes and agrees with brute-force haversine on a fixed set", () => {
    // A deterministic spread of 2,000 nodes and 200 participants over the globe.
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const fleet = Array.from({ length: 2000 }, (_, i) => node(`n${i}`, Math.asin(2 * rand() - 1) * (180 / Math.PI), rand() * 360 - 180));
    for (let i = 0; i < 200; i++) {
      const point = { lat: Math.asin(2 * rand() - 1) * (180 / Math.PI), lon: rand() * 360 - 180 };
      const brute = [...fleet].sort((a, b) => haversineKm(point, a) - haversineKm(point, b) || (a.id < b.id ? -1 : 1));
      expect(nearestN(fleet, { kind: "sfu", point }, 3).map((s) => s.nodeId)).toEqual(brute.slice(0, 3).map((n) => n.id));
    }
  });
});

describe("withCapacityFilter", () => {
  it("passes over a node above the threshold while another has room", () => {
    const paris = { lat: 48.85, lon: 2.35 };
    const busy = { ...FRANKFURT, load: load({ utilization: 0.95 }) };
    const strategy = withCapacityFilter(selectNearest, 0.85);
    expect(strategy([busy, VIRGINIA], { kind: "sfu", point: paris })?.nodeId).toBe("iad");
    // All busy: a loaded node beats no call.
    expect(strategy([busy, { ...VIRGINIA, load: load({ utilization: 0.99 }) }], { kind: "sfu", point: paris })?.nodeId).toBe("fra");
  });
});

describe("selectByScore", () => {
  it("trades distance against load", () => {
    const paris = { lat: 48.85, lon: 2.35 };
    const fra = { ...FRANKFURT, load: load({ utilization: 0.8 }) }; // ~480 km from Paris
    const lon = node("lhr", 51.47, -0.45, { load: load({ utilization: 0.1 }) }); // ~340 km
    const ams = node("ams", 52.37, 4.9, { load: load({ utilization: 0 }) }); // ~430 km
    const strategy = selectByScore({ kmPerUtilization: 2000, candidates: 8 });
    // fra: 480 + 1600; lhr: 340 + 200; ams: 430 + 0 → ams.
    expect(strategy([fra, lon, ams], { kind: "sfu", point: paris })?.nodeId).toBe("ams");
    // Load cannot bring a far node in: Singapore is not among the nearest candidates.
    const idleFar = { ...SINGAPORE, load: load({ utilization: 0 }) };
    expect(selectByScore({ kmPerUtilization: 2000, candidates: 2 })([fra, lon, idleFar], { kind: "sfu", point: paris })?.nodeId).toBe("lhr");
  });
});

describe("placeRoom (the default policy)", () => {
  it("skips unhealthy, draining and full nodes and prefers near, idle ones", () => {
    const paris = { lat: 48.85, lon: 2.35 };
    const fleet = [
      { ...FRANKFURT, healthy: false },
      node("ams", 52.37, 4.9, { load: load({ state: "draining" }) }),
      node("mrs", 43.3, 5.4, { load: load({ utilization: 0.97 }) }),
      node("lhr", 51.47, -0.45, { load: load({ utilization: 0.3 }) }),
      VIRGINIA,
    ];
    expect(placeRoom(fleet, { kind: "sfu", point: paris })?.nodeId).toBe("lhr");
  });
});

describe("chooseLeg (where a participant of a room enters the media network)", () => {
  const PARIS = { lat: 48.85, lon: 2.35 };
  const LONDON = { lat: 51.5, lon: -0.13 };
  const TOKYO = { lat: 35.68, lon: 139.69 };
  const NEW_YORK = { lat: 40.71, lon: -74.0 };
  const SYDNEY = { lat: -33.87, lon: 151.21 };
  const PARIS_NODE = node("cdg", 48.86, 2.35);
  const TOKYO_NODE = node("nrt", 35.7, 139.7);
  const SYDNEY_NODE = node("syd", -33.9, 151.2);
  const SAO_PAULO_NODE = node("gru", -23.5, -46.6);
  const WORLD = [FRANKFURT, VIRGINIA, SINGAPORE, PARIS_NODE, TOKYO_NODE, SYDNEY_NODE, SAO_PAULO_NODE];
  const choose = (point: { lat: number; lon: number }, legs: string[], fleet = WORLD) => chooseLeg(fleet, { kind: "sfu", point }, legs);

  it("opens the first leg on the participant's best node", () => {
    expect(choose(PARIS, [])).toMatchObject({ nodeId: "cdg", reuse: false });
  });

  it("reuses a leg within the threshold of the best node, however close the best one is", () => {
    // Paris's best is cdg (0 km), but the room's Frankfurt leg is ~480 km: within 1,000 km.
    const paris = choose(PARIS, ["fra"])!;
    expect(paris).toMatchObject({ nodeId: "fra", reuse: true, best: { nodeId: "cdg" } });
    expect(paris.distanceKm).toBeCloseTo(haversineKm(PARIS, FRANKFURT), 0);
    expect(choose(LONDON, ["fra"])).toMatchObject({ nodeId: "fra", reuse: true });
    // Of two good legs, the nearer.
    expect(choose(PARIS, ["fra", "cdg"])).toMatchObject({ nodeId: "cdg", reuse: true });
    expect(DEFAULT_LEGS.reuseKm).toBe(1000);
  });

  it("opens a new leg for a far participant, on their best node", () => {
    expect(choose(TOKYO, ["fra"])).toMatchObject({ nodeId: "nrt", reuse: false });
    expect(choose(NEW_YORK, ["fra", "nrt"])).toMatchObject({ nodeId: "iad", reuse: false });
  });

  it("does not reuse a leg whose node is busy (or not taking rooms) when another can serve", () => {
    const busyFrankfurt = node("fra", 50.11, 8.68, { load: load({ utilization: 0.9 }) });
    expect(choose(PARIS, ["fra"], [busyFrankfurt, PARIS_NODE, VIRGINIA])).toMatchObject({ nodeId: "cdg", reuse: false });
    const drainingFrankfurt = node("fra", 50.11, 8.68, { load: load({ state: "draining" }) });
    expect(choose(PARIS, ["fra"], [drainingFrankfurt, PARIS_NODE])).toMatchObject({ nodeId: "cdg", reuse: false });
  });

  it("caps the legs of a room: past the cap, the nearest existing leg", () => {
    const six = ["fra", "nrt", "iad", "gru", "sin", "cdg"];
    expect(six).toHaveLength(DEFAULT_LEGS.maxLegs);
    // Sydney's own node would be best, but the room has all the legs it may: Singapore is nearest.
    expect(choose(SYDNEY, six)).toMatchObject({ nodeId: "sin", reuse: true, best: { nodeId: "syd" } });
    expect(choose(SYDNEY, six.slice(0, 5))).toMatchObject({ nodeId: "syd", reuse: false });
  });

  it("keeps out excluded nodes (the one a participant is moved off), and says when nothing is left", () => {
    const noFrankfurt = (n: NodeCandidate) => n.id !== "fra";
    expect(chooseLeg(WORLD, { kind: "sfu", point: PARIS, accept: noFrankfurt }, ["fra", "nrt"])).toMatchObject({ nodeId: "cdg", reuse: false });
    expect(chooseLeg([FRANKFURT], { kind: "sfu", point: PARIS, accept: noFrankfurt }, ["fra"])).toBeUndefined();
  });

  it("without a location: the room's oldest live leg, else the least busy node", () => {
    expect(chooseLeg(WORLD, { kind: "sfu" }, ["nrt", "fra"])).toMatchObject({ nodeId: "nrt", reuse: true });
    const busy = node("fra", 50.11, 8.68, { load: load({ utilization: 0.5 }) });
    expect(chooseLeg([busy, node("idle", 0, 0, { load: load({ utilization: 0 }) })], { kind: "sfu" }, [])).toMatchObject({ nodeId: "idle", reuse: false });
  });
});

describe("locate", () => {
  it("falls back from coordinates to the colo, then to the country", () => {
    expect(locate({ point: { lat: 1, lon: 2 }, colo: "FRA", country: "DE" })).toEqual({ lat: 1, lon: 2 });
    expect(locate({ colo: "fra", country: "US" })).toEqual({ lat: 50.04, lon: 8.56 });
    expect(locate({ colo: "XXX", country: "JP" })).toEqual({ lat: 36, lon: 138 });
    expect(locate({ colo: "XXX" })).toBeUndefined();
    // A colo fallback sends a Tokyo visitor to the Asian node, not the first registered.
    expect(selectNearest(FLEET, { kind: "sfu", point: locate({ colo: "NRT" })! })?.nodeId).toBe("sin");
  });
});
