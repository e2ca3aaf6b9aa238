#!/usr/bin/env node
// The `ricochet` command. From a checkout, Node 24 runs the TypeScript sources directly; an
// installed package runs the JavaScript build in dist/ (Node does not strip types from files
// under node_modules).
import v8 from 'node:v8';

// Before any other module: V8's allocation-site pretenuring misjudges a proxy's per-request
// objects as long-lived once a burst of them survives a collection, allocates them in the old
// generation from then on, and makes every young collection 10-30x slower until the next full
// one. Off, the same load costs 15-18 % less CPU (docs/decisions.md "Runtime").
v8.setFlagsFromString('--no-allocation-site-pretenuring');

const installed = import.meta.url.includes('/node_modules/');
const entry = new URL(installed ? '../dist/cli/main.js' : '../src/cli/main.ts', import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
