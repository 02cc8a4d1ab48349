#!/usr/bin/env node
// Runs the TypeScript CLI from source (Node's type stripping, or tsx), so `npx satfactory` works from a clone.
// The Node check comes first; everything after it is imported dynamically, because a static import
// that fails to link (node:zlib's zstdDecompressSync before 22.15) would abort before any check ran.
import { exitUnlessSupported } from '../scripts/check-node.mjs';

exitUnlessSupported();
// Node strips the types itself (22.18 and later): no loader, about half a second less startup per
// thread than tsx's transform. A Node run without it (--no-experimental-strip-types) gets tsx.
if (!process.features.typescript) {
  const { register } = await import('tsx/esm/api');
  register();
}
const { main } = await import('../shared/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
