import { app } from "./app.ts";
import { deliverWebhooks } from "./events/webhooks.ts";

export { RoomDO } from "./room/room-do.ts";
export { NodeDO } from "./nodes/node-do.ts";
export { RegistryDO } from "./registry/registry-do.ts";
export { ProfileDO } from "./profiles/profile-do.ts";

export default {
  fetch: app.fetch,
  queue: deliverWebhooks,
} satisfies ExportedHandler<Env>;
