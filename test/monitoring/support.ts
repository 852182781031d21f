import { ChildProcess, spawn } from 'child_process';
import * as http from 'http';
import { exited } from '../support/wait';
export { committedObject, committedObjects } from '../support/manifests';


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
      const done = exited(child); // at once if it has exited already
      child.kill('SIGTERM');
      await done;
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
