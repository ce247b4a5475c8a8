import * as v from "valibot";

/** A request method: the schema of its params and the schema of its result. */
export interface MethodSpec<
  P extends v.GenericSchema = v.GenericSchema,
  R extends v.GenericSchema = v.GenericSchema,
> {
  readonly params: P;
  readonly result: R;
}

export type MethodTable = Readonly<Record<string, MethodSpec>>;
export type EventTable = Readonly<Record<string, v.GenericSchema>>;

export type MethodName<M extends MethodTable> = keyof M & string;
export type ParamsOf<M extends MethodTable, K extends MethodName<M>> = v.InferOutput<M[K]["params"]>;
export type ResultOf<M extends MethodTable, K extends MethodName<M>> = v.InferOutput<M[K]["result"]>;
export type EventName<E extends EventTable> = keyof E & string;
export type EventData<E extends EventTable, K extends EventName<E>> = v.InferOutput<E[K]>;

export function method<P extends v.GenericSchema, R extends v.GenericSchema>(params: P, result: R): MethodSpec<P, R> {
  return { params, result };
}

export const Empty = v.object({});
