/**
 * Configuration checks that make `cdk8s synth` fail early, with an error that names the
 * field, shows the value and says what is allowed — instead of a broken object in the cluster.
 */

import { ConfigError, show } from '../protocol/validation';

// The integer checks are the protocol's own (recovery arguments); constructs use them too.
export { ConfigError, nonNegativeInteger, positiveInteger } from '../protocol/validation';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** @see https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-label-names */
export function dnsLabel(field: string, value: string, maxLength = 63): string {
  if (!DNS_LABEL.test(value) || value.length > maxLength) {
    throw new ConfigError(
      `'${field}' must be a DNS label (lower-case letters, digits and '-', starting and ending ` +
        `with a letter or digit, at most ${maxLength} characters), got ${show(value)}`,
    );
  }
  return value;
}

/** @see https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-subdomain-names */
export function dnsSubdomain(field: string, value: string): string {
  if (value.length > 253 || !value.split('.').every((part) => DNS_LABEL.test(part))) {
    throw new ConfigError(
      `'${field}' must be a DNS subdomain (DNS labels joined by '.', at most 253 characters), got ${show(value)}`,
    );
  }
  return value;
}

/**
 * An image reference pinned by a tag other than `latest`; a digest may follow
 * (`name:tag@sha256:<64 hex>`), and then the runtime pulls exactly that image.
 * The tag is what `kubectl apply` reviewers read; `latest` changes under them.
 */
export function pinnedImage(field: string, value: string): string {
  const withoutDigest = value.split('@')[0];
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : '';
  if (tag === '' || tag === 'latest') {
    throw new ConfigError(
      `'${field}' must be pinned by a tag other than 'latest' (e.g. "satapps/ard-workflow-s2:0.4.0"), got ${show(value)}`,
    );
  }
  const digest = value.includes('@') ? value.slice(value.indexOf('@') + 1) : undefined;
  if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new ConfigError(`'${field}' may end in a digest only as "@sha256:" and 64 lower-case hex digits, got ${show(value)}`);
  }
  return value;
}

export function absolutePath(field: string, value: string): string {
  if (!value.startsWith('/') || value.split('/').includes('..')) {
    throw new ConfigError(`'${field}' must be an absolute path without '..', got ${show(value)}`);
  }
  return value;
}

/** Env var names that carry credentials: these may come only from a Secret. */
const CREDENTIAL_NAME = /(KEY|SECRET|PASSWORD|PASSWD|PWD|TOKEN|CREDENTIAL)/i;

/** Refuses literal values for credential-like env vars, so no secret lands in git or dist/. */
export function noLiteralCredentials(field: string, env: Readonly<Record<string, string>>): void {
  for (const name of Object.keys(env)) {
    if (CREDENTIAL_NAME.test(name)) {
      throw new ConfigError(
        `'${field}.${name}' looks like a credential and must not be a literal value: ` +
          `put it in the Secret named by 'credentialsSecret' (see README, "Credentials")`,
      );
    }
  }
}

/** A Kubernetes quantity such as `512Mi` or `2Gi`, in bytes. */
export function quantityBytes(field: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(value);
  if (!match) {
    throw new ConfigError(`'${field}' must be a memory quantity such as "512Mi" or "2Gi", got ${show(value)}`);
  }
  const factor: Record<string, number> = {
    '': 1, 'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12,
    'Ki': 2 ** 10, 'Mi': 2 ** 20, 'Gi': 2 ** 30, 'Ti': 2 ** 40,
  };
  return Math.floor(Number(match[1]) * factor[match[2] ?? '']);
}

export function oneOf<T extends string>(field: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw new ConfigError(`'${field}' must be one of ${allowed.map(show).join(', ')}, got ${show(value)}`);
  }
  return value;
}
