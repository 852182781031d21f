/**
 * The queue's Lua scripts (`protocol/lua/<name>.lua`): the one way to locate and load them, for
 * the queue tool (EVALSHA) and for the manifests (the recovery CronJob's ConfigMap).
 *
 * Shared Lua lives in `protocol/lua/includes/<name>.lua`; a script pulls one in with a line
 * `--- @include "<name>"` (as BullMQ's scripts do), which {@link loadLuaScript} replaces by the
 * include's text between `-- BEGIN <name>` and `-- END <name>` marker lines, so the bundled
 * script (what Redis runs, what dist/ mounts) is self-contained and shows where each part
 * comes from.
 *
 * The build copies protocol/lua to build/queue/lua, next to the bundle this module is compiled
 * into, so the same path relative to the running code works from the sources and from the build.
 *
 * @see https://github.com/taskforcesh/bullmq/tree/master/src/commands
 */
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import * as path from 'path';

/** Folder of the scripts, next to this module (sources and build alike). */
export const LUA_DIR = path.join(__dirname, 'lua');

/** Folder of the shared pieces that scripts include. */
export const LUA_INCLUDE_DIR = path.join(LUA_DIR, 'includes');

/** A bundled Lua script, with its SHA-1 for EVALSHA. */
export interface LuaScript {
  readonly name: string;
  /** The script with every include inlined: exactly what Redis runs. */
  readonly source: string;
  readonly sha1: string;
}

/** Width of the BEGIN/END marker lines around an inlined include. */
const MARKER_WIDTH = 94;
const INCLUDE = /^--- @include "([a-z0-9-]+)"\n/gm;

const marker = (edge: 'BEGIN' | 'END', name: string): string => `-- ${edge} ${name} `.padEnd(MARKER_WIDTH, '-') + '\n';

/** The text of include `name` (protocol/lua/includes/<name>.lua), unbundled. */
export function readLuaInclude(name: string): string {
  return readFileSync(path.join(LUA_INCLUDE_DIR, `${name}.lua`), 'utf8');
}

/**
 * Inlines the `--- @include "<name>"` lines of `source`, each between marker lines. Includes
 * are not nested: a shared piece is a leaf, which keeps the bundle readable.
 */
export function bundleLua(source: string, readInclude: (name: string) => string = readLuaInclude): string {
  return source.replace(INCLUDE, (_line, name: string) => marker('BEGIN', name) + readInclude(name) + marker('END', name));
}

const scripts = new Map<string, LuaScript>();

/** Loads and bundles `protocol/lua/<name>.lua` (cached). */
export function loadLuaScript(name: string): LuaScript {
  let script = scripts.get(name);
  if (!script) {
    const source = bundleLua(readFileSync(path.join(LUA_DIR, `${name}.lua`), 'utf8'));
    script = { name, source, sha1: createHash('sha1').update(source).digest('hex') };
    scripts.set(name, script);
  }
  return script;
}
