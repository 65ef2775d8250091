#!/usr/bin/env node
// The `vigil` command from a checkout: TypeScript sources run through tsx (esbuild, cached).
import { register } from 'tsx/esm/api';
register();
await import('../appliance/cli/main.ts');
