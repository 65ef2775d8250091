/**
 * What a file the auditor opened or dropped is — recognised by its content, never by its name or by the
 * slot it was put in — and, when it is in the wrong slot, what to say: what the file is and where it goes,
 * in plain words (never a schema message). DOM-free so it is unit-tested in Node.
 */

export type FileKind = 'bundle' | 'trust' | 'key' | 'public-key' | 'unknown';
export type Slot = 'trust' | 'bundle' | 'key';

/** Trust and key files are small JSON documents: anything larger is not one (and is not read whole). */
export const MAX_JSON_FILE = 8 * 1024 * 1024;
/** How much of a file is read to recognise it: a tar header block, or the start of a JSON document. */
export const SNIFF_BYTES = 512;

const JSON_FORMATS: Record<string, FileKind> = {
  'vigil-trust': 'trust',
  'vigil-auditor-secret-key': 'key',
  'vigil-auditor-public-key': 'public-key',
};

/** A bundle is a POSIX tar: "ustar" at offset 257 of its first header block. */
export function looksLikeTar(head: Uint8Array): boolean {
  if (head.length < 262) return false;
  return String.fromCharCode(...head.subarray(257, 262)) === 'ustar';
}

/** The file starts like a JSON object (after an optional UTF-8 byte order mark and white space). */
export function looksLikeJson(head: Uint8Array, size: number): boolean {
  if (size > MAX_JSON_FILE) return false;
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  return head[i] === 0x7b; // {
}

/** The kind of a JSON document by its `format` field ('unknown' when it is not one of Vigil's). */
export function jsonKind(text: string): FileKind {
  let o: unknown;
  try {
    o = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return 'unknown';
  }
  const format = o && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>).format : undefined;
  return (typeof format === 'string' && JSON_FORMATS[format]) || 'unknown';
}

/** Recognises a file from its first bytes (SNIFF_BYTES) and, for JSON, its whole text. */
export async function detectKind(file: { size: number; head(): Promise<Uint8Array>; text(): Promise<string> }): Promise<FileKind> {
  const head = await file.head();
  if (looksLikeTar(head)) return 'bundle';
  if (looksLikeJson(head, file.size)) return jsonKind(await file.text());
  return 'unknown';
}

const WHAT: Record<FileKind, string> = {
  bundle: 'an evidence bundle',
  trust: 'a trust file',
  key: 'an auditor secret key',
  'public-key': 'an auditor public key',
  unknown: 'not a Vigil file',
};

const SLOT_WHAT: Record<Slot, string> = { trust: 'a trust file', bundle: 'an evidence bundle', key: 'an auditor key' };
export const SLOT_STEP: Record<Slot, string> = { trust: 'step 1 (Trust file)', bundle: 'step 2 (Evidence bundle)', key: 'step 3 (Auditor key)' };

const WHAT_GOES_THERE: Record<Slot, string> = {
  trust: 'The trust file is the trust.json the appliance operator gave you out of band.',
  bundle: 'The evidence bundle is the .vigil file the operator exported with `vigil export`.',
  key: 'Your auditor key is the .key file you made with `vigil keys auditor`.',
};

/** Names a file for a message: one line, bounded (a file name is whatever the disk says). */
export function fileLabel(name: string): string {
  const one = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim() || '(unnamed file)';
  return one.length > 80 ? `${one.slice(0, 79)}…` : one;
}

/**
 * Why a file was refused for a slot (or, without a slot, for a drop), in plain words: what it is, and
 * where it goes. Undefined when the file belongs there.
 */
export function refusal(name: string, kind: FileKind, slot?: Slot): string | undefined {
  const f = fileLabel(name);
  if (kind === 'public-key') {
    return `${f} is an auditor public key (.pub): the operator uses it to encrypt the evidence to you. To decrypt, open your secret key (.key) in ${SLOT_STEP.key}.`;
  }
  if (kind === 'unknown') {
    if (!slot) return `${f} is not a Vigil evidence bundle, trust file or auditor key, so it was not opened.`;
    return `${f} is not ${SLOT_WHAT[slot]}: it is not a Vigil evidence bundle, trust file or auditor key. ${WHAT_GOES_THERE[slot]}`;
  }
  if (!slot || kind === slot) return undefined;
  return `${f} is ${WHAT[kind]}, not ${SLOT_WHAT[slot]}: open it in ${SLOT_STEP[kind]}, or drop all three files anywhere in this window.`;
}
