/**
 * Round-trip times between cloud regions, in milliseconds: the p50 of AWS inter-region
 * latency as published by cloudping.co (https://www.cloudping.co/grid, "p50", recorded
 * for this benchmark and rounded to 5 ms; no network here to fetch it live). Each
 * region's coordinates are its metro area's.
 */
export const REGIONS = {
  "us-east-1": { city: "Virginia", lat: 38.95, lon: -77.45 },
  "us-west-2": { city: "Oregon", lat: 45.6, lon: -121.2 },
  "eu-central-1": { city: "Frankfurt", lat: 50.11, lon: 8.68 },
  "eu-west-2": { city: "London", lat: 51.51, lon: -0.13 },
  "ap-northeast-1": { city: "Tokyo", lat: 35.68, lon: 139.69 },
  "ap-southeast-1": { city: "Singapore", lat: 1.35, lon: 103.82 },
  "ap-southeast-2": { city: "Sydney", lat: -33.87, lon: 151.21 },
  "sa-east-1": { city: "São Paulo", lat: -23.55, lon: -46.63 },
} as const;

export type Region = keyof typeof REGIONS;

const PAIRS: Array<[Region, Region, number]> = [
  ["us-east-1", "us-west-2", 65],
  ["us-east-1", "eu-central-1", 90],
  ["us-east-1", "eu-west-2", 75],
  ["us-east-1", "ap-northeast-1", 145],
  ["us-east-1", "ap-southeast-1", 215],
  ["us-east-1", "ap-southeast-2", 200],
  ["us-east-1", "sa-east-1", 115],
  ["us-west-2", "eu-central-1", 145],
  ["us-west-2", "eu-west-2", 130],
  ["us-west-2", "ap-northeast-1", 100],
  ["us-west-2", "ap-southeast-1", 165],
  ["us-west-2", "ap-southeast-2", 140],
  ["us-west-2", "sa-east-1", 175],
  ["eu-central-1", "eu-west-2", 15],
  ["eu-central-1", "ap-northeast-1", 225],
  ["eu-central-1", "ap-southeast-1", 160],
  ["eu-central-1", "ap-southeast-2", 255],
  ["eu-central-1", "sa-east-1", 205],
  ["eu-west-2", "ap-northeast-1", 215],
  ["eu-west-2", "ap-southeast-1", 170],
  ["eu-west-2", "ap-southeast-2", 265],
  ["eu-west-2", "sa-east-1", 185],
  ["ap-northeast-1", "ap-southeast-1", 70],
  ["ap-northeast-1", "ap-southeast-2", 105],
  ["ap-northeast-1", "sa-east-1", 255],
  ["ap-southeast-1", "ap-southeast-2", 90],
  ["ap-southeast-1", "sa-east-1", 325],
  ["ap-southeast-2", "sa-east-1", 310],
];

const TABLE = new Map<string, number>();
for (const [a, b, ms] of PAIRS) {
  TABLE.set(`${a}|${b}`, ms);
  TABLE.set(`${b}|${a}`, ms);
}

export function rttMs(a: Region, b: Region): number {
  if (a === b) return 0;
  const ms = TABLE.get(`${a}|${b}`);
  if (ms === undefined) throw new Error(`no RTT for ${a} - ${b}`);
  return ms;
}
