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
 * Types whose values can never hold a card number: no run of 12+ digits (int4 has at most 10; floats print
 * with a decimal point or exponent; bit strings are 0/1, and no card brand starts with 0 or 1).
 */
export const CANNOT_HOLD_PAN = new Set<number>([
  OID.bool, OID.char, OID.int2, OID.int4, OID.oid, OID.float4, OID.float8, OID.date, OID.time, OID.timestamp,
  OID.timestamptz, OID.interval, OID.timetz, OID.uuid, OID.inet, OID.cidr, OID.macaddr, OID.bit, OID.varbit,
]);

/** Types whose binary form is UTF-8 text (jsonb: a version byte, then text). */
export const TEXT_LIKE = new Set<number>([OID.text, OID.varchar, OID.bpchar, OID.name, OID.json, OID.jsonb, OID.xml, OID.unknown]);
