#!/usr/bin/env bash
# Regenerates imports/keda.sh.ts (cdk8s import) and imports/keda.sh.schema.json (the CRDs'
# OpenAPI schemas, for the tests) from KEDA's ScaledJob and TriggerAuthentication CRDs.
#
#   scripts/import-keda.sh            downloads the CRDs of KEDA_REF (a tag or commit of kedacore/keda)
#   scripts/import-keda.sh DIR        uses DIR/keda.sh_{scaledjobs,triggerauthentications}.yaml
#
# The committed import is of kedacore/keda 8b4f083ca8c8c2baf8477e322bd4d16ac4dfa09a (controller-gen v0.20.1).
set -euo pipefail
REF="${KEDA_REF:-8b4f083ca8c8c2baf8477e322bd4d16ac4dfa09a}"
exec "$(dirname "$0")/import-crds.sh" keda.sh \
  "https://raw.githubusercontent.com/kedacore/keda/$REF/config/crd/bases" \
  "${1:-}" keda.sh_scaledjobs.yaml keda.sh_triggerauthentications.yaml
