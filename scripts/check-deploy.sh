#!/usr/bin/env bash
# Checks the deployment artefacts offline (docs/DEPLOYMENT.md, "What CI checks"):
#   1. `kubectl kustomize` builds deploy/overlays/production and deploy/rollouts;
#   2. kubernetes-validate (PyPI, pinned in scripts/test-peers.txt; its schemas ship inside the
#      package, no cluster or network needed) validates every built core object strictly,
#      and the Secret template;
#   3. promtool checks the alert rules and runs their unit tests;
#   4. the Grafana dashboard is JSON, and every PromQL expression of the dashboard and of the
#      AnalysisTemplate parses (promtool, with the template variables filled in).
# The contract itself (names, labels, probes against the real server, metric names against a
# live scrape, the version) is crates/thermaliq/tests/deploy.rs.
# Run from scripts/test.sh after `source scripts/test-peers.sh`; standalone it needs
# kubernetes-validate on PATH and THERMALIQ_TEST_PYTHON (a python with PyYAML).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

k8s_version=1.32.0
work="$(mktemp -d "${TMPDIR:-/tmp}/thermaliq-check-deploy.XXXXXX")"
trap 'rm -rf "$work"' EXIT
python="${THERMALIQ_TEST_PYTHON:-python3}"

need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "check-deploy: $1 not found: $2" >&2
        exit 1
    }
}
need promtool "install Debian's prometheus package (.ci/run does)"
need kubernetes-validate "source scripts/test-peers.sh first (scripts/test.sh does)"

echo "== check-deploy: kustomize builds"
if command -v kubectl >/dev/null 2>&1; then
    for variant in overlays/production rollouts; do
        out="$work/${variant//\//-}.yaml"
        kubectl kustomize "deploy/$variant" >"$out"
        echo "deploy/$variant: $(grep -c '^kind:' "$out") objects"
    done
    built=("$work"/*.yaml)
else
    # Without kubectl the base files are validated one by one; tests/deploy.rs then applies
    # the overlay's settings itself.
    echo "check-deploy: kubectl not on PATH: validating the base files without a kustomize build"
    built=()
    for f in deploy/base/*.yaml; do
        [[ "$(basename "$f")" == kustomization.yaml || "$f" == *.template.yaml ]] || built+=("$f")
    done
fi

echo "== check-deploy: kubernetes-validate --strict (Kubernetes $k8s_version)"
# Custom resources (ServiceMonitor, Rollout, AnalysisTemplate) have no bundled schema: they
# are reported as warnings and checked field by field in tests/deploy.rs.
kubernetes-validate --strict --quiet -k "$k8s_version" "${built[@]}" deploy/base/secret.template.yaml

echo "== check-deploy: promtool"
promtool check rules deploy/prometheus/thermaliq-rules.yaml
promtool test rules deploy/prometheus/thermaliq-rules.test.yaml

echo "== check-deploy: dashboard and analysis queries"
"$python" -m json.tool deploy/grafana/thermaliq-prod.json >/dev/null
"$python" - "$work/queries.yaml" <<'PY'
import json
import sys

import yaml

queries = []
with open("deploy/grafana/thermaliq-prod.json") as f:
    dashboard = json.load(f)
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        queries.append((f'dashboard panel "{panel["title"]}"', target["expr"]))
with open("deploy/rollouts/analysistemplate.yaml") as f:
    template = yaml.safe_load(f)
for metric in template["spec"]["metrics"]:
    queries.append((f'AnalysisTemplate metric {metric["name"]}', metric["provider"]["prometheus"]["query"]))
# Grafana's and Argo's variables are filled with plain values so promtool can parse the rest.
fill = {"$namespace": "gl-009-production", "{{args.namespace}}": "gl-009-production"}
rules = []
for i, (where, query) in enumerate(queries):
    for variable, value in fill.items():
        query = query.replace(variable, value)
    if "$" in query or "{{" in query:
        sys.exit(f"check-deploy: {where}: an unknown template variable in {query!r}")
    rules.append({"record": f"check:query_{i}", "expr": query})
with open(sys.argv[1], "w") as f:
    yaml.safe_dump({"groups": [{"name": "queries", "rules": rules}]}, f)
print(f"{len(queries)} queries")
PY
promtool check rules "$work/queries.yaml" >/dev/null
echo "check-deploy: ok"
