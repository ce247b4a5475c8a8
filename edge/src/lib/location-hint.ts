import type { RequestGeo } from "./geo.ts";

/** Durable Object placement hint for a room created by someone on this continent. */
export function locationHintFor(geo: RequestGeo): DurableObjectLocationHint | undefined {
  const lon = geo.point?.lon;
  switch (geo.continent) {
    case "NA":
      return lon !== undefined && lon < -100 ? "wnam" : "enam";
    case "SA":
      return "sam";
    case "EU":
      return lon !== undefined && lon > 20 ? "eeur" : "weur";
    case "AS":
      return lon !== undefined && lon < 60 ? "me" : "apac";
    case "OC":
      return "oc";
    case "AF":
      return "afr";
    default:
      return undefined;
  }
}

/** `getByName` options for a new room's Durable Object: near its creator when we know where they are. */
export function roomPlacement(geo: RequestGeo): { locationHint?: DurableObjectLocationHint } {
  const locationHint = locationHintFor(geo);
  return locationHint ? { locationHint } : {};
}
