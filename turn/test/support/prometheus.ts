/**
 * Enough of a Prometheus text-format (0.0.4) reader for the tests: it refuses a sample
 * whose family has no HELP and TYPE before it, a family declared twice, and a line it
 * cannot read, so a malformed exposition fails the test that reads it.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const unescape = (value: string) => value.replace(/\\(["\\n])/g, (_m, c: string) => (c === "n" ? "\n" : c));

export function parseExposition(text: string): Exposition {
  if (!text.endsWith("\n")) throw new Error("an exposition ends with a line feed");
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      if (kind === "HELP") {
        if (helped.has(name!)) throw new Error(`HELP for ${name} twice`);
        helped.add(name!);
      } else {
        if (types.has(name!)) throw new Error(`TYPE for ${name} twice`);
        if (!["gauge", "counter"].includes(rest!)) throw new Error(`unexpected type ${rest} for ${name}`);
        types.set(name!, rest!);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*)\} (\S+)$/.exec(line);
    if (!sample) throw new Error(`unreadable line: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = sample;
    if (!types.has(name!) || !helped.has(name!)) throw new Error(`${name} has a sample before its HELP and TYPE`);
    const value = Number(valueText);
    if (Number.isNaN(value)) throw new Error(`not a number: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of labelText!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = unescape(raw!);
    samples.push({ name: name!, labels, value });
  }
  return { types, samples };
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = exposition.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
