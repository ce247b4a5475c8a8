/** `@meridian/node-agent/testing`: what node tests share (a scripted edge, a captured log). */
export * from "./capture-log.ts";
export * from "./fake-edge.ts";
