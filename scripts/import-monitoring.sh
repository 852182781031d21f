#!/usr/bin/env bash
# Regenerates imports/monitoring.coreos.com.ts (cdk8s import) and
# imports/monitoring.coreos.com.schema.json (the CRDs' OpenAPI schemas, for the tests) from the
# Prometheus Operator's ServiceMonitor and PrometheusRule CRDs.
#
#   scripts/import-monitoring.sh            downloads the CRDs of PROMETHEUS_OPERATOR_VERSION
#   scripts/import-monitoring.sh DIR        uses DIR/monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml
#
# Both CRDs are one API group: `cdk8s import` writes one file per group, so they go in as one
# multi-document input (imported one at a time, the second would overwrite the first).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.93.0}"
CRDS=(monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for crd in "${CRDS[@]}"; do
  if [ $# -ge 1 ]; then
    cat "$1/$crd"
  else
    curl -fsSL "https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/$VERSION/example/prometheus-operator-crd/$crd"
  fi
  echo '---'
done > "$work/monitoring.coreos.com.yaml"
# --save=false: the input is a temporary file, not an import cdk8s.yaml could repeat.
npx cdk8s import "$work/monitoring.coreos.com.yaml" -l typescript --no-check-upgrade --save=false
node scripts/crd-schemas.cjs "$work/monitoring.coreos.com.yaml" > imports/monitoring.coreos.com.schema.json
