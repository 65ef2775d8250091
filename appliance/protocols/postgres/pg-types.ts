/** The PostgreSQL type OIDs masking cares about (pg_type.oid, stable across versions). */
export const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  xml: 142,
  cidr: 650,
  float4: 700,
  float8: 701,
  unknown: 705,
  money: 790,
  macaddr: 829,
  inet: 869,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  bit: 1560,
  varbit: 1562,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/**
 * Types whose values can never hold a card number: too few digits (int2/int4/oid at most 10, a date 8),
 * digits in a fixed layout no PAN fits (times and timestamps: at most 2 digits before the first separator
 * of a kind, mixed separators), or only 0 and 1 (bit strings; no brand starts with either). Floats, money,
 * uuids, network and geometric types CAN hold one (4.111111111111111e+15, a PAN spread over uuid groups)
 * and are checked (row-masker.ts).
 */
export const CANNOT_HOLD_PAN = new Set<number>([
  OID.bool, OID.char, OID.int2, OID.int4, OID.oid, OID.date, OID.time, OID.timestamp, OID.timestamptz, OID.interval, OID.timetz, OID.bit, OID.varbit,
]);

/** Numbers whose value may be a card number: withheld (NULL) when it is one (a masked number is no number). */
export const NUMERIC = new Set<number>([OID.float4, OID.float8, OID.money]);

/** Types whose text can hide digits in other layouts: scanned in strict mode, withheld (NULL) on a match. */
export const STRICT_OR_NULL = new Set<number>([OID.uuid, OID.inet, OID.cidr, OID.macaddr, 774 /* macaddr8 */, 600, 601, 602, 603, 604, 628, 718 /* point … circle */]);

/** Text types whose redacted value is the text '[REDACTED]'. */
export const PLAIN_TEXT = new Set<number>([OID.text, OID.varchar, OID.bpchar, OID.name, OID.unknown]);

/** Types whose binary form is UTF-8 text (jsonb: a version byte, then text). */
export const TEXT_LIKE = new Set<number>([OID.text, OID.varchar, OID.bpchar, OID.name, OID.json, OID.jsonb, OID.xml, OID.unknown]);
