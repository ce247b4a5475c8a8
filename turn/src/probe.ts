import { createSocket } from "node:dgram";
import { isIPv6 } from "node:net";
import { Attr, Class, Method, bindingRequest, decodeMessage, getAttribute, newTransactionId } from "./stun.ts";

export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
}

/**
 * One STUN Binding request over UDP: true when coturn answers it with a success carrying
 * a mapped address before the timeout. Cheap enough to run every few seconds, and it
 * checks the path clients use rather than a process list.
 */
export function probeStun(target: ProbeTarget, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(target.host) ? "udp6" : "udp4");
    const transactionId = newTransactionId();
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("error", () => finish(false));
    socket.on("message", (data) => {
      const message = decodeMessage(data);
      if (!message || !message.transactionId.equals(transactionId) || message.method !== Method.Binding) return;
      finish(message.cls === Class.Success && getAttribute(message, Attr.XorMappedAddress) !== undefined);
    });
    socket.send(bindingRequest(transactionId), target.port, target.host, (error) => {
      if (error) finish(false);
    });
  });
}
