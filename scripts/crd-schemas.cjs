// Prints the OpenAPI v3 schema of every served version of the CRDs in a YAML file, as JSON
// keyed by "<group>/<version>/<Kind>": what test/support/crd-schema.ts validates objects against.
const fs = require('fs');
const { parseAllDocuments } = require('yaml');

const schemas = {};
for (const doc of parseAllDocuments(fs.readFileSync(process.argv[2], 'utf8'))) {
  const crd = doc.toJS();
  if (crd?.kind !== 'CustomResourceDefinition') continue;
  for (const version of crd.spec.versions.filter((v) => v.served)) {
    schemas[`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`] = version.schema.openAPIV3Schema;
  }
}
process.stdout.write(JSON.stringify(schemas) + '\n');
