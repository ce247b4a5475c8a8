import { createContext, useContext, type JSX } from "solid-js";
import type { CallSession } from "./call.ts";

/** The call session of the room page: components below it read state and call actions through it. */
const CallContext = createContext<CallSession>();

export function CallProvider(props: { call: CallSession; children: JSX.Element }) {
  return <CallContext.Provider value={props.call}>{props.children}</CallContext.Provider>;
}

export function useCall(): CallSession {
  const call = useContext(CallContext);
  if (!call) throw new Error("useCall outside a CallProvider");
  return call;
}
