/**
 * Loads vigil.yaml: YAML → schema → absolute paths. Every error names file:line and what to change.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode, isPair, isScalar, visit, type Document } from 'yaml';
import { VigilError } from '../../shared/errors.ts';
import { configSchema, type VigilConfig } from './schema.ts';

export interface LoadedConfig {
  path: string;
  dir: string;
  text: string;
  config: VigilConfig;
  /** Absolute path of something the config names relative to its own directory. */
  resolvePath(p: string): string;
}

export function loadConfig(path: string): LoadedConfig {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new VigilError('E_CONFIG', `cannot read ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: 'pass --config DIR/vigil.yaml (made by `vigil init --dir DIR`)',
    });
  }
  return parseConfig(text, abs);
}

export function parseConfig(text: string, path: string): LoadedConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0]?.line ?? lines.linePos(yamlError.pos[0]).line;
    throw new VigilError('E_CONFIG', `${path}:${line}: YAML syntax error: ${yamlError.message.split('\n')[0]}`);
  }
  refuseSecrets(doc, lines, path);
  const result = configSchema.safeParse(doc.toJS());
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const keyPath = issue.path.map(String);
    throw new VigilError('E_CONFIG', `${path}:${lineOf(doc, lines, issue.path)}: ${keyPath.join('.') || '(top level)'}: ${issue.message}`, {
      hint: 'see docs/configuration.md',
    });
  }
  const dir = dirname(path);
  return { path, dir, text, config: result.data, resolvePath: (p) => (isAbsolute(p) ? p : resolve(dir, p)) };
}

/** Keys that would hold a secret: secrets live in files or the environment, never in vigil.yaml. */
const SECRET_KEY = /^(password|passwd|pass|secret|client_?secret|token|api_?key|private_?key|credentials?)$/i;

function refuseSecrets(doc: Document, lines: LineCounter, path: string): void {
  visit(doc, {
    Pair(_, pair, ancestry) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!SECRET_KEY.test(key) || !isScalar(pair.value) || pair.value.value === null || typeof pair.value.value === 'object') return;
      const where = ancestry.flatMap((a) => (isPair(a) && isScalar(a.key) ? [String(a.key.value)] : [])).concat(key).join('.');
      const line = pair.value.range ? lines.linePos(pair.value.range[0]).line : 1;
      throw new VigilError('E_CONFIG', `${path}:${line}: ${where}: secrets are never written in vigil.yaml`, {
        hint: 'put it in a file readable only by the appliance (credential: { file: PATH }) or an environment variable (credential: { env: NAME })',
      });
    },
  });
}

/** The line of the deepest node along `path` that exists (the key itself when the value is missing). */
function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return 1;
}
