#!/usr/bin/env node
// `npm start`: builds only when a source is newer than the last build (the build's progress goes
// to stderr, so stdout carries the server's JSON log lines only), then runs `billing serve` in
// this very process, so that a signal sent to `npm start` reaches the server and it drains.
import { buildIfStale } from './build-if-stale.js';

buildIfStale();
process.argv.splice(2, process.argv.length, 'serve');
await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
