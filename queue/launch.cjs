#!/usr/bin/env node
// The compiled queue tool's entry point: scripts/build.cjs copies this file to build/queue/cli.js,
// next to build/queue/tool.js (the tool and ioredis in one bundle) and tool.js.cache (V8's code
// for it, saved by the build). Compiling the bundle afresh would be about a quarter of a short
// command's CPU (README, Start-up); a cache that V8 refuses (another Node.js than the build's)
// only costs that time back.
'use strict';
const fs = require('fs');
const Module = require('module');
const path = require('path');
const vm = require('vm');

const BUNDLE = path.join(__dirname, 'tool.js');
const CODE_CACHE = `${BUNDLE}.cache`;

/**
 * Compiles the bundle (with `cachedData`, V8's code from an earlier compile, when given) and runs
 * it as a CommonJS module in this directory; returns the compiled script and the bundle's exports.
 */
function loadBundle(cachedData) {
  const script = new vm.Script(Module.wrap(fs.readFileSync(BUNDLE, 'utf8')), { filename: BUNDLE, cachedData });
  const bundle = new Module(BUNDLE, module);
  bundle.filename = BUNDLE;
  // The bundle requires Node.js built-ins only.
  script.runInThisContext().call(bundle.exports, bundle.exports, require, bundle, BUNDLE, __dirname);
  return { script, exports: bundle.exports };
}

if (require.main === module && !fs.existsSync(BUNDLE)) {
  process.stderr.write(`error: the queue tool is not built: ${BUNDLE} is missing; run \`npm run build\`\n`);
  process.exitCode = 1;
} else if (require.main === module) {
  let cachedData;
  try {
    cachedData = fs.readFileSync(CODE_CACHE);
  } catch {
    // no cache: V8 compiles the bundle
  }
  loadBundle(cachedData).exports.runAsProcess(__filename);
} else {
  module.exports = { CODE_CACHE, loadBundle };
}
