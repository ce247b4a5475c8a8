import type { MiddlewareHandler } from "hono";
import * as v from "valibot";
import { NodeId } from "@meridian/protocol";
import { errorResponse } from "../lib/http.ts";
import { secretsEqual } from "../lib/secrets.ts";

export type NodeAuthVariables = { nodeId: string };

/**
 * Admits an SFU/TURN node that presents the node secret as a bearer token and names
 * itself in `x-meridian-node-id`. Everything else gets 401 before any Durable Object runs.
 */
export const nodeAuth: MiddlewareHandler<{ Bindings: Env; Variables: NodeAuthVariables }> = async (c, next) => {
  const expected = c.env.NODE_SECRET;
  if (!expected) return errorResponse(503, "unauthorized", "NODE_SECRET is not configured on the edge");
  const header = c.req.header("authorization") ?? "";
  const token = header.startsWith("Bearer ") ? header.slice(7) : "";
  if (!token || !(await secretsEqual(token, expected))) {
    return errorResponse(401, "unauthorized", "missing or wrong node secret", { "www-authenticate": "Bearer" });
  }
  const nodeId = c.req.header("x-meridian-node-id") ?? "";
  if (!v.is(NodeId, nodeId)) return errorResponse(400, "invalid_params", "x-meridian-node-id: 1-63 of [a-zA-Z0-9._-]");
  c.set("nodeId", nodeId);
  await next();
};
