import { ChildProcess } from 'child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { LEASE_HEARTBEAT_CONFIG_MAP } from '../../lib/lease-heartbeat-contract';
import { committedObject } from './manifests';
import { closed } from './wait';

/**
 * Writes the files of the committed `dist/<env>/workers/` lease-heartbeat ConfigMap into a new folder
 * under `parent` and returns it: what the worker pod mounts and puts on its PYTHONPATH.
 */
export function heartbeatFromDist(parent: string, environment = 'dev'): string {
  const configMap = committedObject(environment, 'ConfigMap', LEASE_HEARTBEAT_CONFIG_MAP);
  const dir = path.join(parent, 'lease-heartbeat');
  mkdirSync(dir);
  for (const [name, content] of Object.entries(configMap.data as Record<string, string>)) {
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** A fresh temporary folder. */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/**
 * Collects a child's stderr as text, from its start: `text()` is what it wrote so far; `closed`,
 * its exit code (or signal) once all it wrote has been read (see closed() in wait.ts).
 */
export function stderrOf(child: ChildProcess): { text: () => string; closed: Promise<number | NodeJS.Signals> } {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (text += chunk));
  child.stdout?.resume();
  return { text: () => text, closed: closed(child) };
}
