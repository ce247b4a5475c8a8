// A webhook receiver for the tests, run as its own worker: it checks each delivery's
// signature the documented way and keeps what it got. GET http://receiver.test/deliveries
// lists them. Endpoints on host flaky.example refuse an event's first delivery (503);
// endpoints on host refuse.example refuse every delivery (500).
// It also consumes the dead-letter queue: GET http://receiver.test/dead-letters lists what
// the queue gave up on.
const deliveries = [];
const refusedOnce = new Set();
const deadLetters = [];

async function hmacHex(secret, text) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.hostname === "receiver.test") {
      if (url.pathname === "/deliveries") return Response.json(deliveries);
      if (url.pathname === "/dead-letters") return Response.json(deadLetters);
      if (url.pathname === "/reset") {
        deliveries.length = 0;
        return new Response("ok");
      }
    }
    const body = await request.text();
    const header = request.headers.get("meridian-signature") ?? "";
    const t = header.match(/t=(\d+)/)?.[1];
    const v1 = header.match(/v1=([0-9a-f]+)/)?.[1];
    const valid = Boolean(t && v1) && (await hmacHex(env.WEBHOOK_SECRET, `${t}.${body}`)) === v1;
    const fresh = Boolean(t) && Math.abs(Date.now() / 1000 - Number(t)) < 300;
    const eventId = request.headers.get("meridian-event-id");
    let parsed = null;
    try {
      parsed = JSON.parse(body);
    } catch {}
    const always = url.hostname === "refuse.example";
    const refuse = always || (url.hostname === "flaky.example" && !refusedOnce.has(eventId));
    if (refuse) refusedOnce.add(eventId);
    deliveries.push({ endpoint: url.href, eventId, valid, fresh, event: parsed, refused: refuse, at: Date.now() });
    if (always) return new Response("no", { status: 500 });
    return refuse ? new Response("try later", { status: 503 }) : new Response("ok");
  },

  async queue(batch) {
    for (const message of batch.messages) {
      deadLetters.push({ queue: batch.queue, id: message.id, attempts: message.attempts, body: message.body, at: Date.now() });
      message.ack();
    }
  },
};
