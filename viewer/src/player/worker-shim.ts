// @xterm/headless decides "browser or Node" by looking for `process`; in a Web Worker it finds neither and
// then reads `window`. A worker's global scope is the closest thing: give it that name before xterm loads.
(globalThis as unknown as { window?: unknown }).window ??= globalThis;
export {};
