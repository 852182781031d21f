// Copies the queue tool's Lua scripts next to the compiled JS, so build/queue/*.js finds
// them at the same relative path (./lua) as the TypeScript sources do.
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
fs.cpSync(path.join(root, 'queue', 'lua'), path.join(root, 'build', 'queue', 'lua'), { recursive: true });
