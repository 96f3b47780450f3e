#!/usr/bin/env bash
# Schema check of the Kubernetes files, as no cluster runs here: every
# manifest against the Kubernetes OpenAPI schemas that the PyPI package
# kubernetes-validate ships, in strict mode (an unknown field is an error),
# for the oldest version the Job needs (1.29: backoffLimitPerIndex) and the
# newest the package knows. Installs the package with pip when it is missing.
# Usage: scripts/cluster/k8s/validate.sh
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v kubernetes-validate >/dev/null; then
    python3 -m pip install --quiet kubernetes-validate
fi
newest=$(kubernetes-validate --version)
for version in 1.29.0 "$newest"; do
    kubernetes-validate --strict --kubernetes-version "$version" job.yaml merge.yaml pvc.yaml
done
