import { Hono } from "hono";
import { errorResponse } from "./lib/http.ts";
import { createLogger, errorFields } from "./lib/log.ts";
import { nodes } from "./routes/nodes.ts";
import { rooms } from "./routes/rooms.ts";

export const app = new Hono<{ Bindings: Env }>();

app.get("/api/health", (c) => c.json({ ok: true }));
app.route("/api/rooms", rooms);
app.route("/api/nodes", nodes);

app.notFound(() => errorResponse(404, "not_found", "no such endpoint"));
app.onError((error, c) => {
  createLogger("http", c.env.LOG_LEVEL).error("unhandled error", { path: c.req.path, ...errorFields(error) });
  return errorResponse(500, "internal", "internal error");
});
