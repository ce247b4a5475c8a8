import { ProtocolError, type EdgeToNodeMethods, type MethodName, type ParamsOf, type ResultOf } from "@meridian/protocol";
import { nodeStub, type CallOutcome } from "../nodes/node-do.ts";

/**
 * One control call from a room to an SFU node, through that node's Durable Object.
 * Results were validated by the node DO; failures arrive as typed ProtocolErrors.
 */
export async function callNode<K extends MethodName<EdgeToNodeMethods>>(
  env: Env,
  nodeId: string,
  method: K,
  params: ParamsOf<EdgeToNodeMethods, K>,
): Promise<ResultOf<EdgeToNodeMethods, K>> {
  let outcome: CallOutcome;
  try {
    outcome = (await nodeStub(env, nodeId).call(method, params)) as CallOutcome;
  } catch {
    throw new ProtocolError("node_unavailable", "the SFU node's control channel is unreachable");
  }
  if (!outcome.ok) throw ProtocolError.from(outcome.error);
  return outcome.result as ResultOf<EdgeToNodeMethods, K>;
}
