import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import * as path from 'path';
import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { componentLabels } from './labels';
import { LEASE_HEARTBEAT_CONFIG_MAP } from './lease-heartbeat-contract';
import { ConfigError } from './validation';

/** Folder of the heartbeat's Python files, relative to the repository root (read at synth). */
export const LEASE_HEARTBEAT_SOURCE_DIR = 'lib/lease-heartbeat';

/** The files the ConfigMap holds: `sitecustomize` loads the heartbeat module at start-up. */
export const LEASE_HEARTBEAT_FILES = ['sitecustomize.py', 'ard_lease_heartbeat.py'] as const;

/** Where the worker container mounts the ConfigMap (read-only); first on its PYTHONPATH. */
export const LEASE_HEARTBEAT_MOUNT_PATH = '/opt/ard-workqueue/lease-heartbeat';

/** Lease time the heartbeat takes and renews, instead of the images' fixed 1800 s. */
export const DEFAULT_LEASE_SECONDS = 120;

/** After this long on one item the heartbeat stops renewing, so a hung worker's item comes back. */
export const DEFAULT_MAX_LEASE_SECONDS = 6 * 3600;

/** Below this a lease renewed every third of it is lost to a few seconds' stall of a loaded node. */
const MIN_LEASE_SECONDS = 10;

/** Per-workflow settings of the lease heartbeat. */
export interface LeaseHeartbeatSettings {
  /**
   * Seconds each lease lasts; the heartbeat renews it every third of that. A dead worker's item
   * is back in the queue about this long, plus recovery's grace period and interval, after it died.
   * @default DEFAULT_LEASE_SECONDS (120)
   */
  readonly leaseSeconds?: number;
  /**
   * Seconds after taking an item when the heartbeat stops renewing its lease, so that the item
   * of a hung worker is still recovered. Must exceed the slowest healthy scene.
   * @default DEFAULT_MAX_LEASE_SECONDS (21600, 6 h)
   */
  readonly maxLeaseSeconds?: number;
}

/** The settings in force, as the worker container receives them. */
export interface ResolvedLeaseHeartbeat {
  readonly leaseSeconds: number;
  readonly maxLeaseSeconds: number;
}

/**
 * Resolves the `leaseHeartbeat` prop of a workflow: `undefined`/`true` → defaults, `false` → off.
 * @param field the prop's path for error messages, e.g. `workflows.s2.leaseHeartbeat`
 * @throws ConfigError naming the field, the value and what is allowed
 */
export function resolveLeaseHeartbeat(
  field: string,
  value: boolean | LeaseHeartbeatSettings | undefined,
): ResolvedLeaseHeartbeat | undefined {
  if (value === false) return undefined;
  const settings = value === true || value === undefined ? {} : value;
  const leaseSeconds = settings.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < MIN_LEASE_SECONDS) {
    throw new ConfigError(`'${field}.leaseSeconds' must be an integer >= ${MIN_LEASE_SECONDS}, got ${JSON.stringify(leaseSeconds)}`);
  }
  const maxLeaseSeconds = settings.maxLeaseSeconds ?? DEFAULT_MAX_LEASE_SECONDS;
  if (!Number.isInteger(maxLeaseSeconds) || maxLeaseSeconds < leaseSeconds) {
    throw new ConfigError(
      `'${field}.maxLeaseSeconds' must be an integer >= leaseSeconds (${leaseSeconds}), got ${JSON.stringify(maxLeaseSeconds)}`,
    );
  }
  return { leaseSeconds, maxLeaseSeconds };
}

/** What a worker pod adds to load the heartbeat. */
export interface LeaseHeartbeatPodParts {
  /** Pod template annotations: a checksum of the files, so changed code means a new Job. */
  readonly annotations: Record<string, string>;
  readonly volume: k8s.Volume;
  /** For the worker container. */
  readonly volumeMount: k8s.VolumeMount;
  /** For the worker container: PYTHONPATH, ARD_LEASE_SECONDS, ARD_LEASE_MAX_SECONDS. */
  readonly env: k8s.EnvVar[];
}

/**
 * The heartbeat's Python files as a ConfigMap, read from the repository at synth. One per chart
 * (namespace): {@link LeaseHeartbeat.of} creates it on first use.
 *
 * Technique: a `sitecustomize` module on PYTHONPATH, from a mounted volume, runs inside the
 * image's own interpreter at start-up, as the OpenTelemetry operator's Python
 * auto-instrumentation does. See lib/lease-heartbeat/ard_lease_heartbeat.py for what it does.
 *
 * @see https://docs.python.org/3/library/site.html
 * @see https://opentelemetry.io/docs/kubernetes/operator/automatic/
 */
export class LeaseHeartbeat extends Construct {
  /** Construct id of the shared instance, at the chart's root. */
  static readonly ID = 'lease-heartbeat';

  /** The chart's heartbeat ConfigMap, created on first call. */
  static of(scope: Construct): LeaseHeartbeat {
    const chart = Chart.of(scope);
    const existing = chart.node.tryFindChild(LeaseHeartbeat.ID);
    return existing instanceof LeaseHeartbeat ? existing : new LeaseHeartbeat(chart, LeaseHeartbeat.ID);
  }

  public readonly configMap: kplus.ConfigMap;
  /** SHA-256 of the files, hex. */
  public readonly checksum: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const data = leaseHeartbeatFiles();
    this.checksum = createHash('sha256').update(JSON.stringify(data)).digest('hex');
    this.configMap = new kplus.ConfigMap(this, 'files', {
      metadata: { name: LEASE_HEARTBEAT_CONFIG_MAP, labels: componentLabels('ard-lease-heartbeat', 'lease-heartbeat') },
      data,
    });
  }

  /** The volume, mount, env and annotation a worker pod needs to run with these settings. */
  podParts(settings: ResolvedLeaseHeartbeat): LeaseHeartbeatPodParts {
    const volumeName = 'lease-heartbeat';
    return {
      annotations: { 'checksum/lease-heartbeat': this.checksum },
      volume: { name: volumeName, configMap: { name: this.configMap.name, defaultMode: 0o444 } },
      volumeMount: { name: volumeName, mountPath: LEASE_HEARTBEAT_MOUNT_PATH, readOnly: true },
      env: [
        // Replaces any PYTHONPATH of the image (the satapps images set none).
        { name: 'PYTHONPATH', value: LEASE_HEARTBEAT_MOUNT_PATH },
        { name: 'ARD_LEASE_SECONDS', value: String(settings.leaseSeconds) },
        { name: 'ARD_LEASE_MAX_SECONDS', value: String(settings.maxLeaseSeconds) },
      ],
    };
  }
}

/** File name → content of the heartbeat's Python files, as the ConfigMap holds them. */
export function leaseHeartbeatFiles(): Record<string, string> {
  const dir = path.join(__dirname, '..', LEASE_HEARTBEAT_SOURCE_DIR);
  return Object.fromEntries(LEASE_HEARTBEAT_FILES.map((file) => [file, readFileSync(path.join(dir, file), 'utf8')]));
}

/**
 * The heartbeat for one worker pod, or `undefined` when it is off: creates the chart's
 * ConfigMap on first use and refuses env the heartbeat sets itself.
 *
 * @param envField path of the workflow's `env` prop, for error messages
 */
export function leaseHeartbeatPodParts(
  scope: Construct,
  settings: ResolvedLeaseHeartbeat | undefined,
  envField: string,
  env: Readonly<Record<string, string>>,
): LeaseHeartbeatPodParts | undefined {
  if (settings === undefined) return undefined;
  const parts = LeaseHeartbeat.of(scope).podParts(settings);
  for (const { name } of parts.env) {
    if (name in env) {
      throw new ConfigError(`'${envField}.${name}' is set by the lease heartbeat; set 'leaseHeartbeat: false' to set it yourself`);
    }
  }
  return parts;
}
