import { describe, expect, it } from 'vitest';
import { findCardData } from '../../../../shared/pan/index.ts';
import { normalDigest } from './normal-digest.ts';

describe('normal mode', () => {
  it('finds exactly what it found before strict mode was added, over a large corpus', () => {
    // Computed with the detector of commit 2899298 (before strict mode) over normalCorpus(): if this changes,
    // normal mode's results changed.
    expect(normalDigest((input) => findCardData(input))).toEqual({
      digest: 'cac05140342d308bc5fb1da166c767db4de66e172dfe405678772dfc3313483c',
      matches: 928,
    });
  });
});
