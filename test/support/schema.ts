import { Manifest } from './manifests';

/**
 * Validates an object against the Kubernetes 1.27 OpenAPI schema bundled in kubernetes-models
 * (4.5.1: 5.x needs Node 22). Throws for an unknown apiVersion/kind or an invalid object.
 */
export function validateManifest(object: Manifest): void {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : [undefined, object.apiVersion];
  const models = require(`kubernetes-models/${group ? `${group}/` : ''}${version}`);
  const Model = models[object.kind];
  if (!Model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}
