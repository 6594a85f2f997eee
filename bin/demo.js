#!/usr/bin/env node
// `npm run demo`: builds only when a source changed (as `npm start` does), then runs the demo in
// this very process, so that a signal sent to `npm run demo` reaches the server and it drains.
// Options (`npm run demo -- --days 3`) are read by src/demo/demo.main.ts.
import { buildIfStale } from './build-if-stale.js';

buildIfStale();
await import(new URL('../dist/src/demo/demo.main.js', import.meta.url).href);
