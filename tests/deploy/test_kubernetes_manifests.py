"""contrib/k8s: every manifest against the schemas of Kubernetes 1.33, then checkov's scan."""

from __future__ import annotations

import json

import yaml

from tests.deploy.deploy_tools import CONTRIB, checkov, run, tool

K8S = CONTRIB / "k8s"
KUBERNETES_VERSION = "1.33.0"
# Applied by hand (the Secret holds placeholders; the Job runs once): not in the kustomization.
APPLIED_BY_HAND = {"secret.yaml", "job-first-admin.yaml"}


def _manifests() -> list:
    return sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


def test_kubernetes_validate_accepts_every_manifest() -> None:
    result = run(tool("kubernetes-validate"), "-k", KUBERNETES_VERSION, "--strict", "--quiet",
                 *[str(path) for path in _manifests()])
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_validate_refuses_an_unknown_field(tmp_path) -> None:
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text((K8S / "deployment.yaml").read_text().replace("replicas: 2", "replica: 2"))
    result = run(tool("kubernetes-validate"), "-k", KUBERNETES_VERSION, "--strict", str(manifest))
    assert result.returncode != 0
    assert "replica" in result.stdout + result.stderr


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert all((K8S / name).is_file() for name in listed)
    assert listed | APPLIED_BY_HAND == {path.name for path in _manifests()}


def test_the_deployment_probes_limits_and_runs_unprivileged() -> None:
    deployment = yaml.safe_load((K8S / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"requests", "limits"} <= set(container["resources"])
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    # serve's grace period (serve.shutdown_grace_seconds = 30 in the ConfigMap) fits in the pod's.
    assert pod["terminationGracePeriodSeconds"] > 30


def test_checkov_finds_nothing_unjustified() -> None:
    # Accepted findings carry their reason in a checkov.io/skipN annotation of the resource.
    result = run(checkov(), "--quiet", "--compact", "--output", "json", "--framework", "kubernetes",
                 "--directory", str(K8S), timeout=900)
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{check['check_id']} {check['file_path']} {check['resource']}: {check['check_name']}"
        for entry in reports for check in entry.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "\n".join(failed)
    summary = reports[0]["summary"]
    assert summary["parsing_errors"] == 0
    # The scan did look at every resource.
    assert summary["resource_count"] >= len(_manifests()) and summary["passed"] > 100


def test_every_accepted_checkov_finding_says_why() -> None:
    for path in _manifests():
        for document in yaml.safe_load_all(path.read_text()):
            for key, value in document["metadata"].get("annotations", {}).items():
                if key.startswith("checkov.io/skip"):
                    check, _, reason = value.partition("=")
                    assert check.startswith("CKV") and len(reason) > 20, f"{path.name}: {key}: {value}"
