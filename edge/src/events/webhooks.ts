import { backoffDelay, createLogger, errorFields } from "@meridian/protocol";
import * as v from "valibot";
import { hex } from "../lib/encoding.ts";
import { WebhookJob } from "./room-events.ts";

/**
 * Webhook delivery, the `ROOM_EVENTS` queue's consumer. Each POST carries
 *   Meridian-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(WEBHOOK_SECRET, "<t>.<body>")>
 *   Meridian-Event-Id: <event id>
 * Receivers recompute the HMAC over the timestamp, a dot and the raw body, compare in
 * constant time, and reject timestamps older than a few minutes (replays). A non-2xx
 * answer or a timeout is retried with backoff; after the queue's max retries the message
 * goes to the dead-letter queue.
 */
export const SIGNATURE_HEADER = "Meridian-Signature";
export const EVENT_ID_HEADER = "Meridian-Event-Id";
const DELIVERY_TIMEOUT_MS = 10_000;

export async function signWebhook(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${timestamp}.${body}`));
  return hex(mac);
}

/**
 * Delay before the next attempt: the protocol's jittered backoff over windows of `base` s
 * (default 10) doubling up to an hour, so the deliveries an outage piled up do not all
 * come back at the same second.
 */
export function retryDelaySeconds(attempts: number, base = 10, random: () => number = Math.random): number {
  return Math.ceil(backoffDelay(attempts - 1, { baseMs: base * 1000, maxMs: 3600_000 }, random) / 1000);
}

export async function deliverWebhooks(batch: MessageBatch<unknown>, env: Env, _ctx?: ExecutionContext): Promise<void> {
  const log = createLogger("webhooks", env.LOG_LEVEL);
  for (const message of batch.messages) {
    const job = v.safeParse(WebhookJob, message.body);
    if (!job.success) {
      log.error("dropping a malformed webhook job", { id: message.id });
      message.ack();
      continue;
    }
    const { endpoint, event } = job.output;
    const body = JSON.stringify(event);
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "Meridian-Webhooks/1",
          [SIGNATURE_HEADER]: `t=${timestamp},v1=${await signWebhook(env.WEBHOOK_SECRET, timestamp, body)}`,
          [EVENT_ID_HEADER]: event.id,
        },
        body,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      if (response.ok) {
        message.ack();
        continue;
      }
      log.warn("webhook endpoint refused", { endpoint, status: response.status, attempts: message.attempts });
    } catch (error) {
      log.warn("webhook delivery failed", { endpoint, attempts: message.attempts, ...errorFields(error) });
    }
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts, Number(env.WEBHOOK_RETRY_BASE_S) || undefined) });
  }
}
