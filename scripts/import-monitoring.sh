#!/usr/bin/env bash
# Regenerates imports/monitoring.coreos.com.ts (cdk8s import) and
# imports/monitoring.coreos.com.schema.json (the CRDs' OpenAPI schemas, for the tests) from the
# Prometheus Operator's ServiceMonitor and PrometheusRule CRDs.
#
#   scripts/import-monitoring.sh            downloads the CRDs of PROMETHEUS_OPERATOR_VERSION
#   scripts/import-monitoring.sh DIR        uses DIR/monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml
set -euo pipefail
VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.93.0}"
exec "$(dirname "$0")/import-crds.sh" monitoring.coreos.com \
  "https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/$VERSION/example/prometheus-operator-crd" \
  "${1:-}" monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml
