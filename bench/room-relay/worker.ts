import { DurableObject } from "cloudflare:workers";
import meridian from "@meridian/edge";

/**
 * The bench Worker: Meridian's own Worker and Durable Objects, plus a bare broadcast DO
 * (hibernating WebSockets, every message sent to every socket, nothing else) as the
 * baseline, so both run in the same workerd.
 */
export { RoomDO, NodeDO, RegistryDO, ProfileDO } from "@meridian/edge";

export class BareBroadcastDO extends DurableObject {
  override async fetch(): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(_ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    for (const socket of this.ctx.getWebSockets()) socket.send(message);
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    try {
      ws.close(1000, "bye");
    } catch {
      // Already closed.
    }
  }
}

/**
 * The bare broadcast plus one durable write per message (the message stored in SQLite
 * before it goes out, as chat must be): what durability alone costs.
 */
export class StoredBroadcastDO extends BareBroadcastDO {
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)");
    this.ctx.storage.sql.exec("INSERT INTO messages (body) VALUES (?)", String(message));
    await super.webSocketMessage(ws, message);
  }
}

interface BenchEnv extends Env {
  BARE: DurableObjectNamespace<BareBroadcastDO>;
  STORED: DurableObjectNamespace<StoredBroadcastDO>;
}

export default {
  async fetch(request: Request, env: BenchEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const bare = url.pathname.match(/^\/bench\/(bare|stored)\/([a-z0-9-]+)$/);
    if (bare) {
      const ns = bare[1] === "bare" ? env.BARE : env.STORED;
      return ns.get(ns.idFromName(bare[2]!)).fetch(request);
    }
    return meridian.fetch(request, env, ctx);
  },
  queue: meridian.queue,
} satisfies ExportedHandler<BenchEnv>;
