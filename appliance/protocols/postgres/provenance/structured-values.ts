/**
 * Masking a JSON row field by field, keeping it valid JSON: the object (or array of objects) that
 * row_to_json, to_jsonb, json_agg… make of a row. Each field is masked as its column's class says
 * (card-security data redacted, a PAN column masked 6+4, other values scanned). Anything that does not
 * parse as such a row is redacted whole by the caller (fail closed).
 */
import { stricter, type ColumnClass } from './column-classes.ts';

export type FieldMasker = (value: string, cls: ColumnClass) => string;

export interface RowShape {
  names: readonly string[];
  classes: readonly ColumnClass[];
}

// ── JSON, with number tokens kept as text (no precision lost, none invented) ─────────────────────────

type Json = { t: 'o'; entries: [string, Json][] } | { t: 'a'; items: Json[] } | { t: 's'; v: string } | { t: 'n'; raw: string } | { t: 'l'; raw: string };

class JsonReader {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Json | undefined {
    const v = this.value();
    this.ws();
    return v && this.i === this.s.length ? v : undefined;
  }

  private ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i]!)) this.i++;
  }

  private value(): Json | undefined {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') {
      const v = this.string();
      return v === undefined ? undefined : { t: 's', v };
    }
    const m = /^(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(this.s.slice(this.i));
    if (!m) return undefined;
    this.i += m[0].length;
    return /^[tfn]/.test(m[0]) ? { t: 'l', raw: m[0] } : { t: 'n', raw: m[0] };
  }

  private string(): string | undefined {
    const start = this.i;
    this.i++;
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '\\') this.i += 2;
      else if (c === '"') {
        this.i++;
        try {
          return JSON.parse(this.s.slice(start, this.i)) as string;
        } catch {
          return undefined;
        }
      } else this.i++;
    }
    return undefined;
  }

  private object(): Json | undefined {
    this.i++;
    const entries: [string, Json][] = [];
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return { t: 'o', entries };
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') return undefined;
      const k = this.string();
      this.ws();
      if (k === undefined || this.s[this.i++] !== ':') return undefined;
      const v = this.value();
      if (!v) return undefined;
      entries.push([k, v]);
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return { t: 'o', entries };
      if (c !== ',') return undefined;
    }
  }

  private array(): Json | undefined {
    this.i++;
    const items: Json[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return { t: 'a', items };
    }
    for (;;) {
      const v = this.value();
      if (!v) return undefined;
      items.push(v);
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return { t: 'a', items };
      if (c !== ',') return undefined;
    }
  }
}

/** jsonb prints `{"a": 1, "b": [1, 2]}`, json (row_to_json) `{"a":1,"b":[1,2]}`. */
function writeJson(v: Json, spaced: boolean): string {
  const sep = spaced ? ', ' : ',';
  const colon = spaced ? ': ' : ':';
  switch (v.t) {
    case 'o':
      return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}${colon}${writeJson(x, spaced)}`).join(sep)}}`;
    case 'a':
      return `[${v.items.map((x) => writeJson(x, spaced)).join(sep)}]`;
    case 's':
      return JSON.stringify(v.v);
    default:
      return v.raw;
  }
}

/**
 * Masks a JSON row (an object whose keys are the row's column names, or an array of them). A number in
 * a field that needs masking becomes a string: its masked form is not a number. Undefined: not a row.
 */
export function maskJsonRow(text: string, shape: RowShape, mask: FieldMasker, spaced: boolean): string | undefined {
  const root = new JsonReader(text).parse();
  if (!root) return undefined;
  // A name can repeat (row_to_json of SELECT cvv AS x, id AS x keeps both keys): such a key is masked as
  // the stricter of its columns. An object must hold each name exactly as often as the row has it; else
  // the names Vigil computed are not those the server wrote (or jsonb kept one of two equal keys), and
  // it is not this row.
  const byName = new Map<string, ColumnClass>();
  const counts = new Map<string, number>();
  shape.names.forEach((n, i) => {
    const cls = shape.classes[i]!;
    const known = byName.get(n);
    byName.set(n, known === undefined ? cls : stricter(known, cls));
    counts.set(n, (counts.get(n) ?? 0) + 1);
  });
  const row = (o: Json): Json | undefined => {
    if (o.t === 'a') {
      const items = o.items.map(row);
      return items.every((x) => x) ? { t: 'a', items: items as Json[] } : undefined;
    }
    if (o.t === 'l') return o;
    if (o.t !== 'o') return undefined;
    const entries: [string, Json][] = [];
    const seen = new Map<string, number>();
    for (const [k, v] of o.entries) {
      const cls = byName.get(k);
      if (cls === undefined) return undefined;
      seen.set(k, (seen.get(k) ?? 0) + 1);
      entries.push([k, field(v, cls)]);
    }
    for (const [n, count] of counts) if (seen.get(n) !== count) return undefined;
    return { t: 'o', entries };
  };
  const field = (v: Json, cls: ColumnClass): Json => {
    if (v.t === 's') return { t: 's', v: mask(v.v, cls) };
    if (v.t === 'n') {
      const m = mask(v.raw, cls);
      return m === v.raw ? v : { t: 's', v: m };
    }
    if (v.t === 'l') return v;
    // A nested value (an array or object column): scanned as its text, redacted if it is card data.
    const inner = writeJson(v, spaced);
    const m = mask(inner, cls);
    return m === inner ? v : { t: 's', v: m };
  };
  const out = row(root);
  return out ? writeJson(out, spaced) : undefined;
}
