import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { Manifest } from './manifests';

/**
 * The imported CRDs' schemas, written next to each import: the Prometheus Operator's
 * (scripts/import-monitoring.sh) and KEDA's (scripts/import-keda.sh).
 */
const CRD_SCHEMAS: Record<string, object> = {
  ...require('../../imports/monitoring.coreos.com.schema.json'),
  ...require('../../imports/keda.sh.schema.json'),
};
const crdValidators = new Map<string, ValidateFunction>();

/**
 * Validates an object against the Kubernetes 1.27 OpenAPI schema bundled in kubernetes-models
 * (4.5.1: 5.x needs Node 22), or, for the imported custom resources, against their CRD's
 * OpenAPI v3 schema. Throws for an unknown apiVersion/kind or an invalid object.
 */
export function validateManifest(object: Manifest): void {
  const crdKey = `${object.apiVersion}/${object.kind}`;
  if (CRD_SCHEMAS[crdKey] !== undefined) {
    validateCustomResource(crdKey, object);
    return;
  }
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : [undefined, object.apiVersion];
  const models = require(`kubernetes-models/${group ? `${group}/` : ''}${version}`);
  const Model = models[object.kind];
  if (!Model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

/** CRD patterns are Go regular expressions: Go's `(?i)` becomes JavaScript's `i` flag. */
const goRegExp = Object.assign(
  (pattern: string, flags: string) => pattern.includes('(?i)') ? new RegExp(pattern.replace('(?i)', ''), `${flags}i`) : new RegExp(pattern, flags),
  { code: 'goRegExp' },
);

function validateCustomResource(key: string, object: Manifest): void {
  let validate = crdValidators.get(key);
  if (validate === undefined) {
    // strict: false lets Kubernetes' x-kubernetes-* extension keywords through. The validator
    // runs a few times per test file: ajv's optimisation of its code (half of compiling the
    // ScaledJob schema, which holds a whole pod template) would cost more than it saves.
    const ajv = addFormats(new Ajv({ strict: false, allErrors: true, code: { regExp: goRegExp, optimize: false } }));
    // The OpenAPI formats Kubernetes adds to JSON Schema's.
    ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31 });
    ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
    ajv.addFormat('int-or-string', true);
    validate = ajv.compile(CRD_SCHEMAS[key]);
    crdValidators.set(key, validate);
  }
  const name = object.metadata?.name;
  if (!validate(object)) {
    throw new Error(`${key} ${name}: ${(validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`);
  }
}
