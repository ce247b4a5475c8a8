import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../src/index.ts";
import { describe, expect, it } from "vitest";
import { retryDelaySeconds } from "../src/events/webhooks.ts";
import { createRoom, guestToken, participant, testEnv } from "./support/socket.ts";

interface Delivery {
  endpoint: string;
  eventId: string;
  valid: boolean;
  fresh: boolean;
  refused: boolean;
  event: { id: string; type: string; roomId: string; data: Record<string, unknown> };
}

async function deliveries(): Promise<Delivery[]> {
  return (await (await testEnv.WEBHOOK_RECEIVER.fetch("http://receiver.test/deliveries")).json()) as Delivery[];
}

describe("room events to webhooks", () => {
  it("delivers started, joined, left, recording and ended events, signed, to every endpoint, retrying refusals", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    const guest = await participant(roomId, await guestToken(roomId));
    await guest.socket.ok("leave", {});
    await host.socket.ok("requestRecording", {});
    await host.socket.ok("endRoom", {});

    // Ending the room also takes the host out: two "left" events.
    const expected = ["room.started", "participant.joined", "participant.joined", "participant.left", "recording.requested", "participant.left", "room.ended"];
    const accepted = async () => (await deliveries()).filter((d) => d.event?.roomId === roomId && !d.refused);
    // Two endpoints each get every event; the flaky one only after a retry.
    await expect.poll(async () => (await accepted()).length, { timeout: 20_000, interval: 200 }).toBe(expected.length * 2);
    const all = (await deliveries()).filter((d) => d.event?.roomId === roomId);
    for (const endpoint of ["https://hooks.example/meridian", "https://flaky.example/meridian"]) {
      const got = all.filter((d) => d.endpoint === endpoint && !d.refused);
      expect(got.map((d) => d.event.type).sort()).toEqual([...expected].sort());
    }
    expect(all.every((d) => d.valid && d.fresh)).toBe(true);
    expect(all.filter((d) => d.refused).length).toBe(expected.length);
    const left = all.find((d) => d.event.type === "participant.left");
    expect(left?.event.data).toMatchObject({ participantId: guest.participantId, reason: "left" });
  }, 30_000);

  it("asks the queue to retry a refused delivery with backoff, and drops a malformed job", async () => {
    const refusedOnce = { endpoint: "https://flaky.example/hook", event: { id: crypto.randomUUID(), type: "room.started", roomId: "r", at: 1, data: {} } };
    const batch = createMessageBatch<unknown>("meridian-room-events", [
      { id: "m1", timestamp: new Date(), attempts: 3, body: refusedOnce },
      { id: "m2", timestamp: new Date(), attempts: 1, body: { endpoint: "not a url" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m1"]);
    expect(result.explicitAcks).toEqual(["m2"]);
    expect([1, 2, 4, 30].map((attempts) => retryDelaySeconds(attempts))).toEqual([10, 20, 80, 3600]);
  });
});
