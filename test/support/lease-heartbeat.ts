import { ChildProcess } from 'child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { LEASE_HEARTBEAT_CONFIG_MAP } from '../../lib/lease-heartbeat-contract';
import { committedObject } from './manifests';

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
 * Collects a child's stderr as text: `text()` is what it wrote so far; `closed` resolves with its
 * exit code (or signal) once it has exited and all it wrote has been read (after the 'exit' event
 * alone, the last lines may still be in the pipe).
 */
export function stderrOf(child: ChildProcess): { text: () => string; closed: Promise<number | NodeJS.Signals> } {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (text += chunk));
  child.stdout?.resume();
  const closed = new Promise<number | NodeJS.Signals>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal!)));
  return { text: () => text, closed };
}
