/**
 * Owners and modes of what must stay private: the keys directory (signing keys), the data directory
 * (database, journal, archives), the secrets directory, and every secret file vigil.yaml names (target
 * credentials, TLS and CA private keys, token files). Each must belong to the user that owns the data
 * directory (the service user) and be closed to group and others; vigil.yaml must not be writable by them.
 */
import { existsSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { needConfig, isResult, type DoctorCheck, type DoctorResult } from '../check.ts';

/** Keys whose string value names a secret file, wherever they appear in vigil.yaml. */
const SECRET_KEYS = new Set(['key', 'caKey', 'hostKey', 'tokenFile']);

function secretFiles(node: unknown, path: string[] = [], out: { where: string; file: string }[] = []): { where: string; file: string }[] {
  if (Array.isArray(node)) node.forEach((v, i) => secretFiles(v, [...path, String(i)], out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      const isCredentialFile = k === 'file' && path.at(-1) === 'credential';
      if (typeof v === 'string' && (SECRET_KEYS.has(k) || isCredentialFile)) out.push({ where: [...path, k].join('.'), file: v });
      else secretFiles(v, [...path, k], out);
    }
  }
  return out;
}

const octal = (m: number) => (m & 0o777).toString(8).padStart(4, '0');

export const fileModesCheck: DoctorCheck = {
  id: 'file-modes',
  title: 'keys, secrets and data belong to the service user and are closed to others',
  async run(ctx) {
    const loaded = needConfig(ctx, 'file-modes');
    if (isResult(loaded)) return [loaded];
    const { config, resolvePath } = loaded;
    const dataDir = resolvePath(config.appliance.dataDir);
    let owner: Stats;
    try {
      owner = statSync(dataDir);
    } catch (e) {
      return [{ check: 'file-modes', status: 'fail', detail: `the data directory ${dataDir} is missing (${(e as NodeJS.ErrnoException).code})`, fix: 'run `vigil init`, or fix appliance.dataDir' }];
    }
    const uid = owner.uid;
    const items: { path: string; what: string; private: boolean }[] = [
      { path: dataDir, what: 'data directory', private: true },
      { path: join(dataDir, 'vigil.db'), what: 'database', private: true },
      { path: join(dataDir, 'archives'), what: 'archives directory', private: true },
      { path: resolvePath(config.appliance.keysDir), what: 'keys directory', private: true },
      { path: join(dirname(loaded.path), 'secrets'), what: 'secrets directory', private: true },
      { path: loaded.path, what: 'vigil.yaml', private: false },
      ...secretFiles(config).map((s) => ({ path: resolvePath(s.file), what: s.where, private: true })),
    ];
    const out: DoctorResult[] = [];
    const seen = new Set<string>();
    const bad: string[] = [];
    for (const it of items) {
      if (seen.has(it.path)) continue;
      seen.add(it.path);
      if (!existsSync(it.path)) {
        if (it.what === 'secrets directory' || it.what === 'archives directory') continue; // optional
        out.push({ check: 'file-modes', subject: it.path, status: 'fail', detail: `${it.what} ${it.path} does not exist`, fix: `create it, or fix ${it.what} in vigil.yaml` });
        continue;
      }
      const st = statSync(it.path);
      const open = it.private ? st.mode & 0o077 : st.mode & 0o022;
      const problems = [...(st.uid !== uid ? [`owner uid ${st.uid}, not the service user's ${uid}`] : []), ...(open ? [`mode ${octal(st.mode)} lets group/others ${it.private ? 'in' : 'write'}`] : [])];
      if (problems.length) {
        bad.push(it.path);
        const mode = it.private ? (st.isDirectory() ? '700' : '600') : st.isDirectory() ? '755' : '644';
        out.push({
          check: 'file-modes',
          subject: it.path,
          status: 'fail',
          detail: `${it.what} ${it.path}: ${problems.join('; ')}`,
          fix: [st.uid !== uid ? `chown ${uid} ${it.path}` : '', open ? `chmod ${mode} ${it.path}` : ''].filter(Boolean).join(' && '),
        });
      }
    }
    if (!bad.length && !out.length) out.push({ check: 'file-modes', status: 'pass', detail: `${seen.size} paths owned by uid ${uid}; keys, secrets and data closed to group and others` });
    return out;
  },
};
