import type { GeoPoint } from "./geo.ts";

/**
 * Where a request most likely comes from when `request.cf` has no coordinates: the
 * Cloudflare data centre that took it (IATA code), else the country's rough centre.
 * Coarse on purpose: it only has to pick the right region.
 */
const COLOS: Record<string, [number, number]> = {
  AMS: [52.31, 4.76], ARN: [59.65, 17.92], ATL: [33.64, -84.43], BCN: [41.3, 2.08], BKK: [13.69, 100.75],
  BOG: [4.7, -74.14], BOM: [19.09, 72.87], BOS: [42.36, -71.01], BRU: [50.9, 4.48], BUD: [47.44, 19.26],
  CDG: [49.01, 2.55], CGK: [-6.13, 106.66], CPH: [55.62, 12.65], CPT: [-33.97, 18.6], DEL: [28.56, 77.1],
  DEN: [39.86, -104.67], DFW: [32.9, -97.04], DOH: [25.27, 51.61], DUB: [53.42, -6.27], DUS: [51.29, 6.77],
  DXB: [25.25, 55.36], EWR: [40.69, -74.17], EZE: [-34.82, -58.54], FRA: [50.04, 8.56], GIG: [-22.81, -43.25],
  GRU: [-23.43, -46.47], HAM: [53.63, 9.99], HEL: [60.32, 24.96], HKG: [22.31, 113.92], IAD: [38.95, -77.46],
  ICN: [37.46, 126.44], IST: [41.26, 28.74], JNB: [-26.14, 28.25], KIX: [34.43, 135.24], KUL: [2.75, 101.71],
  LAX: [33.94, -118.41], LHR: [51.47, -0.45], LIS: [38.77, -9.13], LOS: [6.58, 3.32], MAD: [40.49, -3.57],
  MAN: [53.35, -2.27], MEL: [-37.67, 144.84], MEX: [19.44, -99.07], MIA: [25.79, -80.29], MIL: [45.63, 8.72],
  MRS: [43.44, 5.21], MSP: [44.88, -93.22], MUC: [48.35, 11.79], NBO: [-1.32, 36.93], NRT: [35.77, 140.39],
  ORD: [41.98, -87.9], OSL: [60.19, 11.1], OTP: [44.57, 26.1], PDX: [45.59, -122.6], PER: [-31.94, 115.97],
  PHX: [33.43, -112.01], PRG: [50.1, 14.26], SCL: [-33.39, -70.79], SEA: [47.45, -122.31], SFO: [37.62, -122.38],
  SIN: [1.36, 103.99], SJC: [37.36, -121.93], SOF: [42.7, 23.41], SYD: [-33.94, 151.18], TLV: [32.01, 34.89],
  TPE: [25.08, 121.23], VIE: [48.11, 16.57], WAW: [52.17, 20.97], YUL: [45.47, -73.74], YVR: [49.19, -123.18],
  YYZ: [43.68, -79.63], ZRH: [47.46, 8.55],
};

const COUNTRIES: Record<string, [number, number]> = {
  AE: [24, 54], AR: [-34, -64], AT: [47.5, 14.5], AU: [-25, 134], BD: [24, 90], BE: [50.8, 4.5], BG: [42.7, 25.5],
  BR: [-10, -52], CA: [56, -96], CH: [46.8, 8.2], CL: [-33, -71], CN: [35, 105], CO: [4, -73], CZ: [49.8, 15.5],
  DE: [51, 10], DK: [56, 10], DZ: [28, 3], EE: [58.6, 25], EG: [27, 30], ES: [40, -4], FI: [64, 26], FR: [46.5, 2.5],
  GB: [54, -2], GH: [8, -1], GR: [39, 22], HK: [22.3, 114.2], HR: [45.1, 15.2], HU: [47, 19.5], ID: [-2, 118],
  IE: [53, -8], IL: [31.5, 34.8], IN: [21, 78], IQ: [33, 44], IR: [32, 53], IS: [65, -18], IT: [42.8, 12.8],
  JP: [36, 138], KE: [0.5, 38], KR: [36.5, 127.9], KZ: [48, 67], LT: [55.2, 23.9], LU: [49.8, 6.1], LV: [57, 25],
  MA: [32, -6], MX: [23, -102], MY: [4, 109], NG: [9, 8], NL: [52.3, 5.5], NO: [62, 10], NZ: [-41, 174],
  PE: [-10, -76], PH: [13, 122], PK: [30, 70], PL: [52, 19.5], PT: [39.5, -8], QA: [25.3, 51.2], RO: [46, 25],
  RS: [44, 21], RU: [60, 90], SA: [24, 45], SE: [62, 15], SG: [1.35, 103.8], SI: [46.1, 14.8], SK: [48.7, 19.7],
  TH: [15, 101], TR: [39, 35], TW: [23.7, 121], UA: [49, 32], US: [39, -98], UY: [-33, -56], VE: [7, -66],
  VN: [16, 107], ZA: [-29, 24],
};

export function coloLocation(colo: string | undefined): GeoPoint | undefined {
  const found = colo ? COLOS[colo.toUpperCase()] : undefined;
  return found ? { lat: found[0], lon: found[1] } : undefined;
}

export function countryLocation(country: string | undefined): GeoPoint | undefined {
  const found = country ? COUNTRIES[country.toUpperCase()] : undefined;
  return found ? { lat: found[0], lon: found[1] } : undefined;
}
