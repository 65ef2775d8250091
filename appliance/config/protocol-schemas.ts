/**
 * The per-protocol parts of vigil.yaml, assembled from the protocol registry: `listeners:` has one optional
 * block per adapter (plus the admin API's), and each entry of `targets:` is validated by the adapter its
 * `protocol:` names. A name no adapter has is an error that lists the names there are.
 */
import { z } from 'zod';
import type { AnyProtocolAdapter, ConfigIssue, SharedConfig } from '../protocols/adapter.ts';

type Adapters = readonly AnyProtocolAdapter[];

/** listeners.<adapter name>, each optional, and the `extra` listeners that are not protocols (admin). */
type ListenerShape<A extends Adapters, X extends z.ZodRawShape> = { [K in A[number] as K['name']]: z.ZodOptional<K['listenerSchema']> } & X;

const known = (names: readonly string[]) => names.join(', ');

export function listenersSchema<A extends Adapters, X extends z.ZodRawShape>(adapters: A, extra: X) {
  const names = [...adapters.map((a) => a.name), ...Object.keys(extra)];
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`two listeners are named ${twice}: protocol adapter names must be unique and not the admin API's`);
  const shape = { ...Object.fromEntries(adapters.map((a) => [a.name, a.listenerSchema.optional()])), ...extra } as ListenerShape<A, X>;
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unknown listener ${iss.keys.map((k) => JSON.stringify(k)).join(', ')} (this appliance knows: ${known(names)})`
        : undefined,
  });
}

/** A target of whichever protocol it names. */
export type TargetOf<A extends Adapters> = z.output<A[number]['targetSchema']>;

export function targetSchema<A extends Adapters>(adapters: A): z.ZodType<TargetOf<A>> {
  const names = adapters.map((a) => a.name);
  if (names.length === 0) throw new Error('no protocol adapters registered');
  const protocol = z.enum(names as [string, ...string[]], {
    error: (iss) =>
      iss.input === undefined
        ? `every target names its protocol (this appliance knows: ${known(names)})`
        : `unknown protocol ${JSON.stringify(iss.input)} (this appliance knows: ${known(names)})`,
  });
  const byProtocol = z.discriminatedUnion(
    'protocol',
    adapters.map((a) => a.targetSchema) as unknown as [z.ZodObject<{ protocol: z.ZodLiteral<string> }>, ...z.ZodObject<{ protocol: z.ZodLiteral<string> }>[]],
  );
  // The protocol is checked first so that an unknown one gets the message above, not a union's.
  return z.looseObject({ protocol }).pipe(byProtocol) as unknown as z.ZodType<TargetOf<A>>;
}

/** Each adapter's checks across sections, with the listener block it has (if any). */
export function checkProtocols(adapters: Adapters, listeners: Readonly<Record<string, unknown>>, shared: SharedConfig, issue: ConfigIssue): void {
  for (const a of adapters) a.check?.(listeners[a.name], shared, issue);
}
