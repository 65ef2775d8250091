import type { CardBrand } from './brands.ts';

export interface CardDataMatch {
  /** [start, end) into the input: UTF-16 code units for strings, bytes for Uint8Array. */
  start: number;
  end: number;
  kind: 'pan' | 'track1' | 'track2';
  /** Set for kind 'pan'; undefined for tracks. */
  brand?: CardBrand;
}

/** Every match is built here, with the same keys in the same order, so code reading matches stays monomorphic. */
export function cardMatch(start: number, end: number, kind: CardDataMatch['kind'], brand?: CardBrand): CardDataMatch {
  return { start, end, kind, brand };
}

/** How hard to look: `strict` applies the rules of strict mode (index.ts), for cardholder-data columns, messages and evidence. */
export interface CardDataOptions {
  strict?: boolean;
}
