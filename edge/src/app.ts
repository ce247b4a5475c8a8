import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { createLogger, errorFields } from "@meridian/protocol";
import { errorResponse } from "./lib/http.ts";
import { limitBody } from "./middleware/limits.ts";
import { integrations } from "./routes/integrations.ts";
import { nodes } from "./routes/nodes.ts";
import { profile } from "./routes/profile.ts";
import { rooms } from "./routes/rooms.ts";
import { wellKnown } from "./routes/well-known.ts";

export const app = new Hono<{ Bindings: Env }>();

app.use("/api/*", limitBody);
app.get("/api/health", (c) => c.json({ ok: true }));
app.route("/api/rooms", rooms);
app.route("/api/v1", integrations);
app.route("/api/profile", profile);
app.route("/api/nodes", nodes);
app.route("/.well-known", wellKnown);

app.notFound(() => errorResponse(404, "not_found", "no such endpoint"));
app.onError((error, c) => {
  // Hono's own refusals (a malformed JSON body) keep their status, in our error shape.
  if (error instanceof HTTPException && error.status < 500) return errorResponse(error.status, "invalid_params", error.message);
  createLogger("http", c.env.LOG_LEVEL).error("unhandled error", { path: c.req.path, ...errorFields(error) });
  return errorResponse(500, "internal", "internal error");
});
