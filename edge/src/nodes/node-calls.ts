import { ProtocolError, type EdgeToNodeMethods, type ErrorBody, type MethodName, type ParamsOf, type ResultOf } from "@meridian/protocol";

/**
 * A control call's outcome as it crosses Durable Object RPC. A thrown error would arrive
 * as a bare message, losing its code; the outcome keeps the typed `{ code, message }`.
 */
export type CallOutcome<T = unknown> = { ok: true; result: T } | { ok: false; error: ErrorBody };

/**
 * The node DO's RPC surface: one typed method per edge→node call of the protocol, so a
 * room calls `node.createRouter({ roomId })` rather than naming methods in strings, and a
 * call the protocol adds is a type error until the node DO relays it.
 */
export type NodeCalls = {
  [K in MethodName<EdgeToNodeMethods>]: (params: ParamsOf<EdgeToNodeMethods, K>, timeoutMs?: number) => Promise<CallOutcome<ResultOf<EdgeToNodeMethods, K>>>;
};

/**
 * Awaits one call through a node's DO: its result, or its typed error thrown as a
 * ProtocolError; a DO that cannot be reached at all counts as an unavailable node.
 */
export async function resultOf<T>(call: Promise<CallOutcome<T>>): Promise<T> {
  let outcome: CallOutcome<T>;
  try {
    outcome = await call;
  } catch {
    throw new ProtocolError("node_unavailable", "the SFU node's control channel is unreachable");
  }
  if (!outcome.ok) throw ProtocolError.from(outcome.error);
  return outcome.result;
}
