#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx satfactory` works from a clone.
// The Node check comes first; everything after it is imported dynamically, because a static import
// that fails to link (node:zlib's zstdDecompressSync before 22.15) would abort before any check ran.
import { exitUnlessSupported } from '../scripts/check-node.mjs';

exitUnlessSupported();
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../shared/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
