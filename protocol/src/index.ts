export * from "./version.ts";
export * from "./errors.ts";
export * from "./frames.ts";
export * from "./methods.ts";
export * from "./media.ts";
export * from "./rpc.ts";
export * from "./room.ts";
export * from "./node.ts";
