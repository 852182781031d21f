import { ChildProcess, spawn } from 'child_process';
import { readdirSync, readFileSync } from 'fs';
import * as http from 'http';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { Manifest } from '../support/manifests';

const DIST = path.join(__dirname, '..', '..', 'dist');

/** Every object of the committed dist/<env>/*.k8s.yaml: what `kubectl apply` would get. */
export function committedObjects(environment: string): Manifest[] {
  const dir = path.join(DIST, environment);
  return readdirSync(dir).filter((f) => f.endsWith('.k8s.yaml')).flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJSON() as Manifest).filter((o) => o !== null));
}

export function committedObject(environment: string, kind: string, name: string): Manifest {
  const found = committedObjects(environment).filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name} in dist/${environment}, found ${found.length}`);
  return found[0];
}

/** The exporter binary the tests run: Debian's build of oliver006/redis_exporter. */
export const EXPORTER_BINARY = '/usr/bin/prometheus-redis-exporter';

/** A running exporter and what it logged. */
export interface ExporterProcess {
  readonly process: ChildProcess;
  readonly log: () => string;
  stop(): Promise<void>;
}

export function startExporter(args: readonly string[], env: Readonly<Record<string, string>>): ExporterProcess {
  const child = spawn(EXPORTER_BINARY, [...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => { log += d; });
  child.stderr!.on('data', (d) => { log += d; });
  return {
    process: child,
    log: () => log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/**
 * Scrapes `url` once the exporter listens (retrying refused connections until `timeoutMs`);
 * the exporter reads Redis during the request, so the answer is a fresh scrape.
 */
export async function scrape(url: string, exporter: ExporterProcess, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exporter.process.exitCode !== null) throw new Error(`exporter exited with ${exporter.process.exitCode}:\n${exporter.log()}`);
    try {
      const { status, body } = await get(url);
      if (status !== 200) throw new Error(`GET ${url}: HTTP ${status}\n${body}`);
      return body;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** `name{labels} value` lines of a Prometheus text exposition, as "name{labels}" → value. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}
