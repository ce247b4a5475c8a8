import { Hono } from "hono";
import { errorResponse, isWebSocketUpgrade } from "../lib/http.ts";
import { NODE_ID_HEADER } from "../lib/headers.ts";
import { nodeAuth, type NodeAuthVariables } from "../middleware/node-auth.ts";

/** Where SFU nodes dial in: one authenticated WebSocket each, kept by that node's DO. */
export const nodes = new Hono<{ Bindings: Env; Variables: NodeAuthVariables }>();

nodes.get("/connect", nodeAuth, async (c) => {
  if (!isWebSocketUpgrade(c.req.raw)) return errorResponse(426, "bad_frame", "expected a WebSocket upgrade");
  const nodeId = c.get("nodeId");
  const headers = new Headers(c.req.raw.headers);
  headers.set(NODE_ID_HEADER, nodeId);
  headers.delete("authorization");
  return c.env.NODES.getByName(nodeId).fetch(new Request(c.req.raw, { headers }));
});
