import * as v from "valibot";
import { describe, expect, it, vi } from "vitest";
import {
  ProtocolError,
  RpcCaller,
  decodeFrame,
  method,
  parseEvent,
  roomEvents,
  serveRequest,
  type Handlers,
  type RequestFrame,
  type ResponseFrame,
} from "../src/index.ts";

const methods = {
  add: method(v.object({ a: v.number(), b: v.number() }), v.object({ sum: v.number() })),
  fail: method(v.object({}), v.object({})),
  crash: method(v.object({}), v.object({})),
} as const;

const handlers: Handlers<typeof methods, { calls: number }> = {
  add: ({ a, b }, ctx) => {
    ctx.calls++;
    return { sum: a + b };
  },
  fail: () => {
    throw new ProtocolError("forbidden", "not you");
  },
  crash: () => {
    throw new Error("secret internals");
  },
};

function req(method: string, params: unknown, id = 1): RequestFrame {
  return { kind: "req", id, method, params };
}

async function serve(frame: RequestFrame, onUnexpected?: (e: unknown) => void) {
  const ctx = { calls: 0 };
  const text = await serveRequest(methods, handlers, frame, ctx, onUnexpected);
  return { response: JSON.parse(text) as ResponseFrame, ctx };
}

describe("serveRequest", () => {
  it("runs the handler with validated params", async () => {
    const { response, ctx } = await serve(req("add", { a: 2, b: 3 }, 9));
    expect(response).toEqual({ kind: "res", id: 9, result: { sum: 5 } });
    expect(ctx.calls).toBe(1);
  });

  it("answers an unknown method with unknown_method, without running anything", async () => {
    const { response } = await serve(req("toString", {}));
    expect(response.error?.code).toBe("unknown_method");
  });

  it("answers bad params with invalid_params naming the field", async () => {
    const { response, ctx } = await serve(req("add", { a: "2", b: 3 }));
    expect(response.error?.code).toBe("invalid_params");
    expect(response.error?.message).toContain("a");
    expect(ctx.calls).toBe(0);
  });

  it("passes a ProtocolError through as its code", async () => {
    const { response } = await serve(req("fail", {}));
    expect(response.error).toEqual({ code: "forbidden", message: "not you" });
  });

  it("hides unexpected errors behind internal and reports them", async () => {
    const onUnexpected = vi.fn();
    const { response } = await serve(req("crash", {}), onUnexpected);
    expect(response.error).toEqual({ code: "internal", message: "internal error" });
    expect(onUnexpected).toHaveBeenCalledOnce();
  });
});

describe("RpcCaller", () => {
  function pair(timeoutMs = 1000) {
    const sent: RequestFrame[] = [];
    const caller = new RpcCaller(methods, (text) => {
      const decoded = decodeFrame(text, 1 << 16);
      if (!decoded.ok || decoded.frame.kind !== "req") throw new Error("caller sent a bad frame");
      sent.push(decoded.frame);
    }, { timeoutMs });
    return { caller, sent };
  }

  it("matches responses to calls by id and validates the result", async () => {
    const { caller, sent } = pair();
    const first = caller.call("add", { a: 1, b: 1 });
    const second = caller.call("add", { a: 2, b: 2 });
    expect(sent.map((f) => f.id)).toEqual([1, 2]);
    caller.handleResponse({ kind: "res", id: 2, result: { sum: 4 } });
    caller.handleResponse({ kind: "res", id: 1, result: { sum: 2 } });
    await expect(first).resolves.toEqual({ sum: 2 });
    await expect(second).resolves.toEqual({ sum: 4 });
    expect(caller.pendingCount).toBe(0);
  });

  it("rejects with the typed error the other side sent", async () => {
    const { caller } = pair();
    const call = caller.call("fail", {});
    caller.handleResponse({ kind: "res", id: 1, error: { code: "forbidden", message: "no" } });
    await expect(call).rejects.toMatchObject({ code: "forbidden", message: "no" });
  });

  it("rejects a result that does not match the schema", async () => {
    const { caller } = pair();
    const call = caller.call("add", { a: 1, b: 1 });
    caller.handleResponse({ kind: "res", id: 1, result: { sum: "two" } });
    await expect(call).rejects.toMatchObject({ code: "bad_frame" });
  });

  it("times out a call nobody answers and ignores the late answer", async () => {
    vi.useFakeTimers();
    try {
      const { caller } = pair(50);
      const call = caller.call("add", { a: 1, b: 1 });
      const assertion = expect(call).rejects.toMatchObject({ code: "timeout" });
      await vi.advanceTimersByTimeAsync(60);
      await assertion;
      expect(caller.handleResponse({ kind: "res", id: 1, result: { sum: 2 } })).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it("fails every waiting call at once when the socket goes", async () => {
    const { caller } = pair();
    const calls = [caller.call("add", { a: 1, b: 1 }), caller.call("fail", {})];
    caller.failAll(new ProtocolError("closed", "gone"));
    for (const call of calls) await expect(call).rejects.toMatchObject({ code: "closed" });
  });

  it("fails with closed when the frame cannot be sent", async () => {
    const caller = new RpcCaller(methods, () => {
      throw new Error("socket closed");
    }, { timeoutMs: 1000 });
    await expect(caller.call("add", { a: 1, b: 1 })).rejects.toMatchObject({ code: "closed" });
    expect(caller.pendingCount).toBe(0);
  });
});

describe("parseEvent", () => {
  it("validates an event's data against its schema", () => {
    expect(parseEvent(roomEvents, { kind: "evt", event: "peerLeft", data: { peerId: "p1", reason: "left" } })).toEqual({
      event: "peerLeft",
      data: { peerId: "p1", reason: "left" },
    });
    expect(() => parseEvent(roomEvents, { kind: "evt", event: "peerLeft", data: {} })).toThrow(ProtocolError);
    expect(() => parseEvent(roomEvents, { kind: "evt", event: "constructor", data: {} })).toThrow(/unknown event/);
  });
});
