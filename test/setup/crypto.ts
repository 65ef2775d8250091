// Tests run on the wasm backend (what the viewer uses) unless a test installs the native one itself.
import { initCrypto } from '../../shared/crypto/backend.ts';
await initCrypto();
