import * as v from "valibot";
import { ProtocolError, toErrorBody } from "./errors.ts";
import { encodeError, encodeRequest, encodeResult, summarizeIssues } from "./frames.ts";
import type { EventFrame, RequestFrame, ResponseFrame } from "./frames.ts";
import type { EventData, EventName, EventTable, MethodName, MethodTable, ParamsOf, ResultOf } from "./methods.ts";

interface Pending {
  readonly method: string;
  readonly result: v.GenericSchema;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: ProtocolError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export interface CallerOptions {
  /** How long a call waits for its response before failing with `timeout`. */
  readonly timeoutMs: number;
}

/**
 * The calling side of a socket: numbers requests, matches responses to them, validates
 * each result against its method's schema and fails calls that time out or whose socket
 * goes away. Transport-agnostic: the owner passes `send` and feeds responses back in.
 */
export class RpcCaller<M extends MethodTable> {
  readonly #methods: M;
  readonly #send: (text: string) => void;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(methods: M, send: (text: string) => void, options: CallerOptions) {
    this.#methods = methods;
    this.#send = send;
    this.#timeoutMs = options.timeoutMs;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  call<K extends MethodName<M>>(
    method: K,
    params: ParamsOf<M, K>,
    options: { timeoutMs?: number } = {},
  ): Promise<ResultOf<M, K>> {
    const spec = this.#methods[method];
    if (!spec) return Promise.reject(new ProtocolError("unknown_method", `unknown method ${method}`));
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    return new Promise<ResultOf<M, K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ProtocolError("timeout", `${method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        method,
        result: spec.result,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer,
      });
      try {
        this.#send(encodeRequest(id, method, params));
      } catch {
        this.#settle(id, undefined, { code: "closed", message: `cannot send ${method}: socket is closed` });
      }
    });
  }

  /** Feeds a response frame in; returns false when no call is waiting for it. */
  handleResponse(frame: ResponseFrame): boolean {
    return this.#settle(frame.id, frame.result, frame.error);
  }

  /** Fails every waiting call, e.g. when the socket closed. */
  failAll(error: ProtocolError): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(error);
    }
  }

  #settle(id: number, result: unknown, error: ResponseFrame["error"]): boolean {
    const pending = this.#pending.get(id);
    if (!pending) return false;
    clearTimeout(pending.timer);
    this.#pending.delete(id);
    if (error) {
      pending.reject(ProtocolError.from(error));
      return true;
    }
    const parsed = v.safeParse(pending.result, result ?? {});
    if (parsed.success) pending.resolve(parsed.output);
    else {
      pending.reject(
        new ProtocolError("bad_frame", `invalid result for ${pending.method}: ${summarizeIssues(parsed.issues)}`),
      );
    }
    return true;
  }
}

export type Handlers<M extends MethodTable, C> = {
  readonly [K in MethodName<M>]: (params: ParamsOf<M, K>, context: C) => Promise<ResultOf<M, K>> | ResultOf<M, K>;
};

/**
 * The answering side: validates the params of one request against its method's schema,
 * runs the handler and returns the encoded response. Never throws; an unexpected error
 * becomes `internal` (and is passed to `onUnexpected` for logging), never a crash.
 */
export async function serveRequest<M extends MethodTable, C>(
  methods: M,
  handlers: Handlers<M, C>,
  frame: RequestFrame,
  context: C,
  onUnexpected?: (error: unknown, method: string) => void,
): Promise<string> {
  if (!Object.hasOwn(methods, frame.method)) {
    return encodeError(frame.id, { code: "unknown_method", message: `unknown method "${frame.method}"` });
  }
  const name = frame.method as MethodName<M>;
  const parsed = v.safeParse(methods[name]!.params, frame.params ?? {});
  if (!parsed.success) {
    return encodeError(frame.id, {
      code: "invalid_params",
      message: `${frame.method}: ${summarizeIssues(parsed.issues)}`,
    });
  }
  try {
    const result = await handlers[name](parsed.output as ParamsOf<M, typeof name>, context);
    return encodeResult(frame.id, result ?? {});
  } catch (error) {
    if (!(error instanceof ProtocolError)) onUnexpected?.(error, frame.method);
    return encodeError(frame.id, toErrorBody(error));
  }
}

export type ParsedEvent<E extends EventTable> = {
  [K in EventName<E>]: { readonly event: K; readonly data: EventData<E, K> };
}[EventName<E>];

/** Validates an event frame against its table: unknown names and bad data are typed errors. */
export function parseEvent<E extends EventTable>(events: E, frame: EventFrame): ParsedEvent<E> {
  if (!Object.hasOwn(events, frame.event)) {
    throw new ProtocolError("unknown_method", `unknown event "${frame.event}"`);
  }
  const parsed = v.safeParse(events[frame.event]!, frame.data ?? {});
  if (!parsed.success) {
    throw new ProtocolError("invalid_params", `${frame.event}: ${summarizeIssues(parsed.issues)}`);
  }
  return { event: frame.event, data: parsed.output } as ParsedEvent<E>;
}
