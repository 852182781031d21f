#!/usr/bin/env bash
# Regenerates imports/keda.sh.ts (cdk8s import) and imports/keda.sh.schema.json (the CRDs'
# OpenAPI schemas, for the tests) from KEDA's ScaledJob and TriggerAuthentication CRDs.
#
#   scripts/import-keda.sh            downloads the CRDs of KEDA_REF (a tag or commit of kedacore/keda)
#   scripts/import-keda.sh DIR        uses DIR/keda.sh_{scaledjobs,triggerauthentications}.yaml
#
# Both CRDs are one API group: `cdk8s import` writes one file per group, so they go in as one
# multi-document input (imported one at a time, the second would overwrite the first).
# The committed import is of kedacore/keda 8b4f083ca8c8c2baf8477e322bd4d16ac4dfa09a (controller-gen v0.20.1).
set -euo pipefail
cd "$(dirname "$0")/.."
REF="${KEDA_REF:-8b4f083ca8c8c2baf8477e322bd4d16ac4dfa09a}"
CRDS=(keda.sh_scaledjobs.yaml keda.sh_triggerauthentications.yaml)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for crd in "${CRDS[@]}"; do
  if [ $# -ge 1 ]; then
    cat "$1/$crd"
  else
    curl -fsSL "https://raw.githubusercontent.com/kedacore/keda/$REF/config/crd/bases/$crd"
  fi
  echo '---'
done > "$work/keda.sh.yaml"
# --save=false: the input is a temporary file, not an import cdk8s.yaml could repeat.
npx cdk8s import "$work/keda.sh.yaml" -l typescript --no-check-upgrade --save=false
node scripts/crd-schemas.cjs "$work/keda.sh.yaml" > imports/keda.sh.schema.json
