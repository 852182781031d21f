#!/usr/bin/env bash
# Imports one API group's CRDs: imports/<group>.ts (cdk8s import) and imports/<group>.schema.json
# (the CRDs' OpenAPI schemas, for the tests). Called by scripts/import-{monitoring,keda}.sh.
#
#   scripts/import-crds.sh GROUP URL_PREFIX DIR CRD_FILE...
#
# Each CRD file comes from DIR when DIR is not empty, else from URL_PREFIX/CRD_FILE.
# The CRDs go in as one multi-document input: `cdk8s import` writes one file per group, so
# imported one at a time, the second would overwrite the first.
set -euo pipefail
cd "$(dirname "$0")/.."
group="$1" url_prefix="$2" dir="$3"
shift 3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for crd in "$@"; do
  if [ -n "$dir" ]; then
    cat "$dir/$crd"
  else
    curl -fsSL "$url_prefix/$crd"
  fi
  echo '---'
done > "$work/$group.yaml"
# --save=false: the input is a temporary file, not an import cdk8s.yaml could repeat.
npx cdk8s import "$work/$group.yaml" -l typescript --no-check-upgrade --save=false
node scripts/skip-typecheck.cjs "imports/$group.ts"
node scripts/crd-schemas.cjs "$work/$group.yaml" > "imports/$group.schema.json"
