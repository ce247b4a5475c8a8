export * from "./edge-link.ts";
export * from "./edge-url.ts";
export * from "./env.ts";
export * from "./log.ts";
export * from "./metrics.ts";
export * from "./metrics-server.ts";
