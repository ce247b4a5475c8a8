import * as v from "valibot";

/**
 * Room events for integrators. Rooms publish them to the `ROOM_EVENTS` queue, one message
 * per configured webhook endpoint, so each endpoint is retried on its own; the queue's
 * consumer (webhooks.ts) delivers them.
 */
export const ROOM_EVENT_TYPES = [
  "room.started",
  "room.ended",
  "participant.joined",
  "participant.left",
  "recording.requested",
] as const;
export type RoomEventType = (typeof ROOM_EVENT_TYPES)[number];

export const RoomEvent = v.object({
  /** Unique per event; receivers deduplicate on it (delivery is at least once). */
  id: v.string(),
  type: v.picklist(ROOM_EVENT_TYPES),
  roomId: v.string(),
  at: v.number(),
  data: v.record(v.string(), v.unknown()),
});
export type RoomEvent = v.InferOutput<typeof RoomEvent>;

export const WebhookJob = v.object({ endpoint: v.pipe(v.string(), v.url()), event: RoomEvent });
export type WebhookJob = v.InferOutput<typeof WebhookJob>;

export function webhookEndpoints(config: string | undefined): string[] {
  return (config ?? "")
    .split(/[\s,]+/)
    .filter((url) => /^https?:\/\//.test(url));
}

/** Queues one event for every endpoint. Failures to enqueue are the caller's to log. */
export async function publishRoomEvent(
  env: Pick<Env, "ROOM_EVENTS" | "WEBHOOK_URLS">,
  type: RoomEventType,
  roomId: string,
  data: Record<string, unknown>,
): Promise<void> {
  const endpoints = webhookEndpoints(env.WEBHOOK_URLS);
  if (endpoints.length === 0) return;
  const event: RoomEvent = { id: crypto.randomUUID(), type, roomId, at: Date.now(), data };
  await env.ROOM_EVENTS.sendBatch(endpoints.map((endpoint) => ({ body: { endpoint, event } satisfies WebhookJob })));
}
