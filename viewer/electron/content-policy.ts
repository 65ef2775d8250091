/**
 * The Content-Security-Policy every viewer page gets, from the Electron shell (lockdown.ts) and from
 * `npm run viewer` (serve.ts) alike: no remote anything, no inline script, no eval but WebAssembly.
 * One definition so the two can never drift apart.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');
