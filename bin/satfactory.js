#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx satfactory` works from a clone.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../shared/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
