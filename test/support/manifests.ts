import { readdirSync, readFileSync } from 'fs';
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

/** Each committed file parsed once per test file (YAML parsing is slow), handed out as fresh copies. */
const parsedFiles = new Map<string, string>();
function committedFileAsJson(file: string): string {
  let json = parsedFiles.get(file);
  if (json === undefined) {
    json = JSON.stringify(parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON() as Manifest).filter((o) => o !== null));
    parsedFiles.set(file, json);
  }
  return json;
}

/** The one committed object of `kind` named `name` in dist/<environment>/. */
export function committedObject(environment: string, kind: string, name: string): Manifest {
  return onlyOfKind(committedObjects(environment), kind, name);
}
