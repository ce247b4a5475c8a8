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
  /** When the receiver got it (ms). */
  at: number;
  event: { id: string; type: string; roomId: string; data: Record<string, unknown> };
}

interface DeadLetter {
  queue: string;
  id: string;
  attempts: number;
  body: { endpoint?: string; event?: { id: string } };
}

async function deliveries(): Promise<Delivery[]> {
  return (await (await testEnv.WEBHOOK_RECEIVER.fetch("http://receiver.test/deliveries")).json()) as Delivery[];
}

/** What the dead-letter queue's consumer (the receiver) got. */
async function deadLetters(): Promise<DeadLetter[]> {
  return (await (await testEnv.WEBHOOK_RECEIVER.fetch("http://receiver.test/dead-letters")).json()) as DeadLetter[];
}

/** As vitest.config.ts configures the queue for the tests. */
const MAX_RETRIES = Number((env as unknown as { TEST_WEBHOOK_MAX_RETRIES: string }).TEST_WEBHOOK_MAX_RETRIES);
const RETRY_BASE_S = Number(env.WEBHOOK_RETRY_BASE_S);

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
    // Each join says how the call's media flows from then on: two people, peer-to-peer.
    const joined = all.filter((d) => d.event.type === "participant.joined" && d.endpoint === "https://hooks.example/meridian");
    expect(joined.map((d) => d.event.data.mode)).toEqual(["p2p", "p2p"]);
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
    expect([1, 2, 4, 30].map((attempts) => retryDelaySeconds(attempts, 10, () => 1))).toEqual([10, 20, 80, 3600]);
    // Jittered within each window, never below half the base.
    expect([1, 2, 4, 30].map((attempts) => retryDelaySeconds(attempts, 10, () => 0))).toEqual([5, 5, 5, 5]);
  });

  it("gives up on an endpoint that always refuses: after 1 + max_retries attempts with backoff, the job is in the dead-letter queue", async () => {
    expect(MAX_RETRIES).toBeGreaterThan(0);
    const event = { id: crypto.randomUUID(), type: "room.started", roomId: `dlq-${crypto.randomUUID()}`, at: Date.now(), data: {} };
    const job = { endpoint: "https://refuse.example/meridian", event };
    await env.ROOM_EVENTS.send(job);

    const lettersFor = async () => (await deadLetters()).filter((d) => d.body?.event?.id === event.id);
    await expect.poll(async () => (await lettersFor()).length, { timeout: 30_000, interval: 200 }).toBe(1);
    const [letter] = await lettersFor();
    expect(letter).toMatchObject({ queue: "meridian-room-events-dlq", body: job });

    // Every attempt reached the endpoint, signed, and was refused; no more than the queue allows.
    const attempts = (await deliveries()).filter((d) => d.eventId === event.id);
    expect(attempts).toHaveLength(1 + MAX_RETRIES);
    expect(attempts.every((d) => d.endpoint === job.endpoint && d.refused && d.valid && d.event.id === event.id)).toBe(true);
    // Each retry waited at least the least backoff the consumer could have asked for.
    for (let n = 1; n < attempts.length; n++) {
      expect(attempts[n]!.at - attempts[n - 1]!.at, `gap before attempt ${n + 1}`).toBeGreaterThanOrEqual(retryDelaySeconds(n, RETRY_BASE_S, () => 0) * 1000);
    }
  }, 40_000);
});
