#!/usr/bin/env node
// The `ricochet` command. From a checkout, Node 24 runs the TypeScript sources directly; an
// installed package runs the JavaScript build in dist/ (Node does not strip types from files
// under node_modules).
const installed = import.meta.url.includes('/node_modules/');
const entry = new URL(installed ? '../dist/cli/main.js' : '../src/cli/main.ts', import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
