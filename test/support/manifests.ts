import { createHash } from 'crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import type { Stage } from '../../lib/work-queue-chart';

/** A Kubernetes object, as plain data (committed in dist/, or synthesized by test/support/synth.ts). */
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: any }; [k: string]: any };

export function ofKind(objects: readonly Manifest[], kind: string): Manifest[] {
  return objects.filter((o) => o.kind === kind);
}

/** The one object of `kind` (and `name`, when given); fails loudly when there is not exactly one. */
export function onlyOfKind(objects: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = ofKind(objects, kind).filter((o) => name === undefined || o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}`);
  return found[0];
}

const DIST = path.join(__dirname, '..', '..', 'dist');

/**
 * The objects of the committed dist/<environment>/, of every stage or of one, as
 * `kubectl apply -f` gets them: tests run what the cluster would run, not a fresh synth.
 */
export function committedObjects(environment = 'prod', stage?: Stage): Manifest[] {
  const dir = path.join(DIST, environment, ...(stage ? [stage] : []));
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.k8s.yaml')).sort().flatMap((f) =>
    JSON.parse(committedFileAsJson(path.join(dir, f))) as Manifest[]);
}

/**
 * Each committed file parsed once per test run (YAML parsing is slow, and most test files read
 * dist/): as JSON, kept in memory per test file and in node_modules/.cache/ across them, under
 * the hash of the YAML and of {@link CONVERSION}, so that an edited file is parsed afresh. Handed
 * out as fresh copies.
 */
const parsedFiles = new Map<string, string>();
const PARSED_DIR = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'ard-tests', 'dist-json');
/** Names the conversion below (and the parser's version): a change to it must change this, or cached files would be reused. */
const CONVERSION = `yaml ${(require('yaml/package.json') as { version: string }).version}: parseAllDocuments, toJSON, nulls dropped; v1`;
function committedFileAsJson(file: string): string {
  let json = parsedFiles.get(file);
  if (json === undefined) {
    const yaml = readFileSync(file, 'utf8');
    const parsed = path.join(PARSED_DIR, `${createHash('sha1').update(CONVERSION).update(yaml).digest('hex')}.json`);
    try {
      json = readFileSync(parsed, 'utf8');
    } catch {
      json = JSON.stringify(parseAllDocuments(yaml).map((d) => d.toJSON() as Manifest).filter((o) => o !== null));
      try {
        // Written whole or not at all: test files in other workers may read it meanwhile.
        mkdirSync(PARSED_DIR, { recursive: true });
        const partial = `${parsed}.${process.pid}`;
        writeFileSync(partial, json);
        renameSync(partial, parsed);
      } catch {
        // not cached (a read-only or full disk): the next test file parses it again
      }
    }
    parsedFiles.set(file, json);
  }
  return json;
}

/** The one committed object of `kind` named `name` in dist/<environment>/. */
export function committedObject(environment: string, kind: string, name: string): Manifest {
  return onlyOfKind(committedObjects(environment), kind, name);
}
