import { readdirSync, readFileSync, statSync } from 'fs';
import * as path from 'path';

/** What scripts/build.cjs records in build/sources.json: the sources of this build. */
export interface BuildSources {
  /** Every source file the build was made from (the bundle's inputs, the entry point, the Lua scripts), relative to the repository. */
  readonly files: readonly string[];
  /** Their folders: a source added to one of them after the build also makes it stale. */
  readonly folders: readonly string[];
  /** The folder of each package bundled into the tool (`node_modules/ioredis`), with the version bundled: each must be the version installed. */
  readonly bundled?: Readonly<Record<string, string>>;
}

/** A source file of the tool: TypeScript other than tests and declarations, or a Lua script. */
const isSource = (name: string): boolean => (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) || name.endsWith('.lua');

/**
 * When running compiled JS from build/, refuses to run code older than its sources (a few
 * dozen stat calls), since the tool does not compile: a stale build would silently run
 * old rules. The sources are those the build lists in build/sources.json, so a new shared file
 * cannot be missed. Returns the message, or `undefined` when the build is fresh or this is not
 * a build.
 */
export function staleBuildMessage(compiledFile: string): string | undefined {
  let dir = path.dirname(compiledFile);
  while (path.basename(dir) !== 'build') {
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  const root = path.dirname(dir);
  const rebuild = 'run `npm run build`';
  let sources: BuildSources;
  try {
    sources = JSON.parse(readFileSync(path.join(dir, 'sources.json'), 'utf8')) as BuildSources;
  } catch {
    return `the compiled queue tool in build/ has no list of its sources (build/sources.json); ${rebuild}`;
  }
  const built = statSync(compiledFile).mtimeMs;
  const candidates = [
    ...sources.files,
    ...sources.folders.flatMap((folder) => listSources(root, folder)),
  ];
  const newer = candidates.find((file) => {
    try {
      return statSync(path.join(root, file)).mtimeMs > built;
    } catch {
      return false; // a source removed since the build does not matter here
    }
  });
  if (newer) return `the compiled queue tool in build/ is older than ${newer}; ${rebuild}`;
  for (const [folder, bundled] of Object.entries(sources.bundled ?? {})) {
    const installed = packageVersion(path.join(root, folder));
    const name = folder.includes('node_modules/') ? folder.slice(folder.lastIndexOf('node_modules/') + 'node_modules/'.length) : folder;
    if (bundled !== installed) return `build/ bundles ${name} ${bundled}, ${folder} has ${installed ?? '(none)'}; ${rebuild}`;
  }
  return undefined;
}

function packageVersion(packageFolder: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(packageFolder, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function listSources(root: string, folder: string): string[] {
  try {
    return readdirSync(path.join(root, folder)).filter(isSource).map((name) => `${folder}/${name}`);
  } catch {
    return [];
  }
}
