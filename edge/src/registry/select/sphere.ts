import type { GeoPoint } from "../../lib/geo.ts";

/**
 * Points on the unit sphere. Great-circle distance grows as the dot product of two unit
 * vectors shrinks, so "nearest" is a max-dot scan: three multiplications a node, no
 * trigonometry, and the same order as haversine.
 */
export type Vec3 = readonly [number, number, number];

const RAD = Math.PI / 180;

export function toVec(p: GeoPoint): Vec3 {
  const lat = p.lat * RAD;
  const lon = p.lon * RAD;
  const c = Math.cos(lat);
  return [c * Math.cos(lon), c * Math.sin(lon), Math.sin(lat)];
}

/** A node's vector: precomputed on registry records (`vec`), else computed now. */
export function vecOf(node: GeoPoint & { readonly vec?: Vec3 }): Vec3 {
  return node.vec ?? toVec(node);
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
