import { app } from "./app.ts";

export { RoomDO } from "./room/room-do.ts";
export { NodeDO } from "./nodes/node-do.ts";
export { RegistryDO } from "./registry/registry-do.ts";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
