/**
 * Label values for /metrics. Each label takes values from a closed vocabulary chosen by the gateway's code,
 * but a bug upstream could still hand one something a client chose; so every value is checked here too:
 * a short lowercase word (or an E_ error code), with no run of digits long enough to be part of a card
 * number, and at most MAX_VALUES distinct values per label (more would be a cardinality leak: "other").
 */
const WORD = /^[a-z][a-z0-9._-]{0,31}$/;
const CODE = /^E_[A-Z0-9_]{1,48}$/;
const DIGIT_RUN = /\d{4}/;
export const MAX_VALUES = 64;

export class LabelGuard {
  private readonly seen = new Map<string, Set<string>>();

  /** `value` as a label of `label`, or 'other' when it is not a safe, known-shaped word. */
  value(label: string, value: string): string {
    if (!(WORD.test(value) || CODE.test(value)) || DIGIT_RUN.test(value)) return 'other';
    let set = this.seen.get(label);
    if (!set) this.seen.set(label, (set = new Set()));
    if (!set.has(value)) {
      if (set.size >= MAX_VALUES) return 'other';
      set.add(value);
    }
    return value;
  }
}
