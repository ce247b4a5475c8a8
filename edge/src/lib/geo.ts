import { coloLocation, countryLocation } from "./locations.ts";

/** Where a request comes from, as far as Cloudflare can tell. */
export interface GeoPoint {
  readonly lat: number;
  readonly lon: number;
}

export interface RequestGeo {
  /** Absent when the edge has no coordinates for the client (rare; e.g. some anycast ranges). */
  readonly point?: GeoPoint;
  readonly continent?: string;
  readonly country?: string;
  readonly colo?: string;
}

const EARTH_RADIUS_KM = 6371.0088;
const RAD = Math.PI / 180;

/** Great-circle distance in km. */
export function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const dLat = (b.lat - a.lat) * RAD;
  const dLon = (b.lon - a.lon) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

function coordinate(value: unknown, limit: number): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return Number.isFinite(n) && Math.abs(n) <= limit ? n : undefined;
}

function shortString(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 && value.length <= 16 ? value : undefined;
}

/** Reads `request.cf` (latitude/longitude arrive as strings) into a RequestGeo. */
export function geoFromCf(cf: Record<string, unknown> | undefined): RequestGeo {
  if (!cf) return {};
  const lat = coordinate(cf.latitude, 90);
  const lon = coordinate(cf.longitude, 180);
  const continent = shortString(cf.continent);
  const country = shortString(cf.country);
  const colo = shortString(cf.colo);
  return {
    ...(lat !== undefined && lon !== undefined ? { point: { lat, lon } } : {}),
    ...(continent ? { continent } : {}),
    ...(country ? { country } : {}),
    ...(colo ? { colo } : {}),
  };
}

/**
 * The best location for a request: its own coordinates, else its data centre's, else its
 * country's. Undefined only when Cloudflare told us nothing usable.
 */
export function locate(geo: RequestGeo): GeoPoint | undefined {
  return geo.point ?? coloLocation(geo.colo) ?? countryLocation(geo.country);
}
