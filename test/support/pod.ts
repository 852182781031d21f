import { ChildProcess, spawn } from 'child_process';

/** A container of a synthesized pod spec: what the kubelet runs. */
export interface ContainerSpec {
  readonly name: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: { name: string; value?: string }[];
}

/**
 * Runs a container's command exactly as synthesized, on this machine (`sh`, `redis-cli` on
 * PATH), with the container's literal env. `override` replaces the values of the env vars it
 * names (only to point the container at a test redis-server); naming a variable the container
 * does not have is an error, so a renamed variable cannot silently leave the real value in place.
 */
export function runContainer(container: ContainerSpec, override: Readonly<Record<string, string>> = {}): ChildProcess {
  const env: Record<string, string> = {};
  for (const { name, value } of container.env ?? []) if (value !== undefined) env[name] = value;
  for (const [name, value] of Object.entries(override)) {
    if (!(name in env)) throw new Error(`container ${container.name} has no env var ${name} to override`);
    env[name] = value;
  }
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  if (argv.length === 0) throw new Error(`container ${container.name} has no command`);
  return spawn(argv[0], argv.slice(1), { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Collects a process's stdout and stderr; `waitFor(text)` resolves once the output contains
 * it, and rejects, showing the output, if the process exits first.
 */
export class Output {
  text = '';
  private exit?: string;
  private readonly waiters: { text: string; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(child: ChildProcess) {
    child.once('close', (code, signal) => {
      this.exit = `exited (${code ?? signal})`;
      for (const w of this.waiters.splice(0)) w.reject(this.missing(w.text));
    });
    const add = (chunk: Buffer) => {
      this.text += chunk.toString();
      for (const w of this.waiters.filter((x) => this.text.includes(x.text))) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    };
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
  }

  waitFor(text: string): Promise<void> {
    if (this.text.includes(text)) return Promise.resolve();
    if (this.exit !== undefined) return Promise.reject(this.missing(text));
    return new Promise((resolve, reject) => this.waiters.push({ text, resolve, reject }));
  }

  private missing(text: string): Error {
    return new Error(`process ${this.exit} without printing ${JSON.stringify(text)}; its output:\n${this.text}`);
  }
}

