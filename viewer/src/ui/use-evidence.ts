/**
 * The three files an auditor loads (trust file, bundle, auditor key) and what follows from them: the
 * verification and the bundle's SHA-256. Files are recognised by content (file-kind.ts) whichever slot or
 * drop they came through, several at once in any order; a file in the wrong slot is refused in plain words.
 *
 * The current files live in a ref as well as in state: a drop of three files is handled in one go, and
 * each step must see what the step before it loaded (state set in a callback is not visible to the next
 * line of the same callback — why dropping all three once used to do nothing).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { describeError } from '../../../shared/errors.ts';
import { parseTrustFile } from '../../../shared/evidence/trust.ts';
import { SLOT_STEP, SNIFF_BYTES, detectKind, fileLabel, refusal, type FileKind, type Slot } from '../model/file-kind.ts';
import type { TrustFile } from '../../../shared/evidence/trust.ts';
import type { SessionDigest, VerificationReport } from '../model/types.ts';
import { VerifierClient, WorkerError } from '../worker/client.ts';

export interface TrustState {
  name: string;
  text: string;
  trust: TrustFile;
}

export interface BundleState {
  name: string;
  size: number;
  source: Blob | { url: string; size: number };
}

export interface KeyState {
  name: string;
  text: string;
  keyId: string;
  needsPassphrase: boolean;
  unlocked: boolean;
}

export type Verification =
  | { state: 'idle' }
  | { state: 'running'; done: number; total: number; withKey: boolean }
  | { state: 'done'; report: VerificationReport; digests: Map<string, SessionDigest>; ms: number }
  | { state: 'error'; message: string };

export type BundleSha =
  | { state: 'idle' }
  | { state: 'running'; done: number; total: number }
  | { state: 'done'; sha256: string }
  | { state: 'error'; message: string };

type Named = Blob & { name: string };

interface Files {
  trust: TrustState | null;
  bundle: BundleState | null;
  key: KeyState | null;
}

async function kindOf(f: Named): Promise<FileKind> {
  return detectKind({
    size: f.size,
    head: async () => new Uint8Array(await f.slice(0, SNIFF_BYTES).arrayBuffer()),
    text: () => f.text(),
  });
}

/** `note` shows a message; `clearNotes` forgets the previous action's messages when a new one starts. */
export function useEvidence(worker: () => VerifierClient, note: (m: string) => void, clearNotes: () => void, onNewBundle: () => void) {
  const files = useRef<Files>({ trust: null, bundle: null, key: null });
  const [trust, setTrustState] = useState<TrustState | null>(null);
  const [bundle, setBundleState] = useState<BundleState | null>(null);
  const [key, setKeyState] = useState<KeyState | null>(null);
  const [askPassphrase, setAskPassphrase] = useState<{ error?: string } | null>(null);
  const [verification, setVerification] = useState<Verification>({ state: 'idle' });
  const [sha, setSha] = useState<BundleSha>({ state: 'idle' });
  const runId = useRef(0);
  const openId = useRef(0);

  const setTrust = (t: TrustState | null) => ((files.current.trust = t), setTrustState(t));
  const setBundle = (b: BundleState | null) => ((files.current.bundle = b), setBundleState(b));
  const setKey = (k: KeyState | null) => ((files.current.key = k), setKeyState(k));

  const verify = useCallback(
    async (withKey: boolean) => {
      const id = ++runId.current;
      setVerification({ state: 'running', done: 0, total: 0, withKey });
      try {
        const r = await worker().call('verify', {}, (done, total) => {
          if (runId.current === id) setVerification({ state: 'running', done, total, withKey });
        });
        if (runId.current !== id) return;
        setVerification({ state: 'done', report: r.report, digests: new Map<string, SessionDigest>(r.digests.map((d) => [d.sessionId, d])), ms: r.ms });
      } catch (e) {
        if (runId.current === id) setVerification({ state: 'error', message: describeError(e) });
      }
    },
    [worker],
  );

  /** The SHA-256 of the open bundle, after its first verification (it does not slow that down). */
  const hash = useCallback(
    async (id: number) => {
      setSha({ state: 'running', done: 0, total: 0 });
      try {
        const r = await worker().call('sha256', {}, (done, total) => {
          if (openId.current === id) setSha({ state: 'running', done, total });
        });
        if (openId.current === id) setSha({ state: 'done', sha256: r.sha256 });
      } catch (e) {
        if (openId.current === id) setSha({ state: 'error', message: describeError(e) });
      }
    },
    [worker],
  );

  const unlock = useCallback(
    async (k: KeyState, passphrase?: string) => {
      try {
        const r = await worker().call('unlock', { keyText: k.text, ...(passphrase ? { passphrase } : {}) });
        setKey({ ...k, keyId: r.keyId, unlocked: true });
        setAskPassphrase(null);
        if (files.current.trust && files.current.bundle) await verify(true);
      } catch (e) {
        if (e instanceof WorkerError && e.code === 'E_PASSPHRASE') setAskPassphrase({ ...(passphrase ? { error: 'That passphrase does not open this key. Try again.' } : {}) });
        else note(`Auditor key ${fileLabel(k.name)}: ${describeError(e)}`);
      }
    },
    [worker, verify, note],
  );

  /** Opens the current bundle with the current trust file (and key): a new engine, verified, then hashed. */
  const open = useCallback(async () => {
    const { trust: t, bundle: b, key: k } = files.current;
    if (!t || !b) return;
    const id = ++openId.current;
    onNewBundle();
    setSha({ state: 'idle' });
    try {
      await worker().call('open', { bundle: b.source, trustText: t.text });
      let unlocked = false;
      if (k) {
        // A new engine has no key: unlock again (the passphrase is asked again when the key is protected).
        if (k.needsPassphrase) setKey({ ...k, unlocked: false });
        else {
          const r = await worker().call('unlock', { keyText: k.text });
          setKey({ ...k, keyId: r.keyId, unlocked: true });
          unlocked = true;
        }
      }
      await verify(unlocked);
      if (k?.needsPassphrase) setAskPassphrase({});
      if (openId.current === id) void hash(id);
    } catch (e) {
      setVerification({ state: 'error', message: describeError(e) });
    }
  }, [worker, verify, hash, onNewBundle]);

  const readTrust = async (f: Named): Promise<TrustState | undefined> => {
    try {
      const text = await f.text();
      return { name: f.name, text, trust: parseTrustFile(text) };
    } catch (e) {
      note(`${fileLabel(f.name)} is a trust file that cannot be used (${describeError(e)}): ask the appliance operator for a fresh copy (vigil trust).`);
      return undefined;
    }
  };

  const readKey = async (f: Named): Promise<KeyState | undefined> => {
    try {
      const text = await f.text();
      const o = JSON.parse(text) as Record<string, unknown>;
      return { name: f.name, text, keyId: typeof o.keyId === 'string' ? o.keyId.slice(0, 16) : '?', needsPassphrase: !!o.protected, unlocked: false };
    } catch {
      note(`${fileLabel(f.name)} is an auditor key that cannot be read.`);
      return undefined;
    }
  };

  /**
   * Loads files from a slot's button (`slot` set) or a drop (every kind at once, in any order): trust
   * first, then the key, then the bundle, so the bundle is opened once, with everything.
   */
  const load = useCallback(
    async (list: Named[], slot?: Slot) => {
      clearNotes();
      const picked: Partial<Record<Slot, Named>> = {};
      for (const f of list) {
        let kind = await kindOf(f);
        // Unrecognisable content offered as a bundle goes to the verifier, which says exactly what is wrong
        // with it (a damaged bundle is evidence too); on a drop only when it is named like one.
        if (kind === 'unknown' && (slot === 'bundle' || (!slot && /\.vigil$/i.test(f.name)))) kind = 'bundle';
        const why = refusal(f.name, kind, slot);
        if (why) {
          note(why);
          continue;
        }
        const k = kind as Slot;
        if (picked[k]) note(`Two files for ${SLOT_STEP[k]} were dropped at once: ${fileLabel(picked[k].name)} was used, ${fileLabel(f.name)} was not.`);
        else picked[k] = f;
      }
      const t = picked.trust ? await readTrust(picked.trust) : undefined;
      const k = picked.key ? await readKey(picked.key) : undefined;
      if (t) setTrust(t);
      if (k) setKey(k);
      if (picked.bundle) setBundle({ name: picked.bundle.name, size: picked.bundle.size, source: picked.bundle });
      if (t || picked.bundle) return open();
      if (k && files.current.trust && files.current.bundle) {
        if (k.needsPassphrase) setAskPassphrase({});
        else await unlock(k);
      }
    },
    [note, clearNotes, open, unlock],
  );

  /** A file the OS handed to the desktop app (file association, command line): a bundle by URL. */
  const loadBundleUrl = useCallback(
    async (f: { name: string; size: number; url: string }) => {
      setBundle({ name: f.name, size: f.size, source: { url: f.url, size: f.size } });
      await open();
    },
    [open],
  );

  const forgetKey = useCallback(async () => {
    setKey(null);
    try {
      await worker().call('lock', {});
    } catch {
      /* no bundle open */
    }
    if (files.current.trust && files.current.bundle) await verify(false);
  }, [worker, verify]);

  useEffect(() => () => void (openId.current = -1), []);

  return { trust, bundle, key, verification, sha, askPassphrase, setAskPassphrase, load, loadBundleUrl, unlock, forgetKey };
}
