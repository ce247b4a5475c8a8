import type { MiddlewareHandler } from "hono";
import * as v from "valibot";
import { NodeId } from "@meridian/protocol";
import { NODE_ID_HEADER } from "../lib/headers.ts";
import { errorResponse } from "../lib/http.ts";
import { nodeCredentialAdmits } from "../auth/node-credentials.ts";
import { bearerToken } from "../auth/tokens.ts";

export type NodeAuthVariables = { nodeId: string };

/**
 * Admits an SFU/TURN node that names itself in `x-meridian-node-id` and presents, as a
 * bearer token, one of the node secrets or a node token for that id (see
 * auth/node-credentials.ts). Everything else gets 401 before any Durable Object runs.
 */
export const nodeAuth: MiddlewareHandler<{ Bindings: Env; Variables: NodeAuthVariables }> = async (c, next) => {
  const nodeId = c.req.header(NODE_ID_HEADER) ?? "";
  const credential = bearerToken(c.req.header("authorization"));
  if (!credential || !(await nodeCredentialAdmits(c.env, credential, nodeId))) {
    return errorResponse(401, "unauthorized", "missing or wrong node credential", { "www-authenticate": "Bearer" });
  }
  if (!v.is(NodeId, nodeId)) return errorResponse(400, "invalid_params", `${NODE_ID_HEADER}: 1-63 of [a-zA-Z0-9._-]`);
  c.set("nodeId", nodeId);
  await next();
};
