"""An operator finds every deployment file, and every step, in docs/install.md."""

from __future__ import annotations

from tests.deploy.deploy_tools import CONTRIB, ROOT

INSTALL = ROOT / "docs" / "install.md"


def test_every_deployment_file_is_named_in_the_install_guide() -> None:
    text = INSTALL.read_text(encoding="utf-8")
    # contrib/prometheus and contrib/grafana belong to monitoring (docs/operations.md).
    deployment = [CONTRIB / "docker", CONTRIB / "systemd", CONTRIB / "k8s"]
    files = [*(path for folder in deployment for path in folder.rglob("*")),
             *(ROOT / ".github" / "workflows").glob("*.yml")]
    missing = [str(path.relative_to(ROOT)) for path in files if path.is_file()
               and str(path.relative_to(ROOT)) not in text and path.name not in text]
    assert not missing, f"docs/install.md does not mention: {missing}"


def test_the_install_guide_covers_each_way_and_the_first_admin() -> None:
    text = INSTALL.read_text(encoding="utf-8")
    for heading in ("## pip", "## Container", "## systemd", "## Kubernetes", "## The first admin"):
        assert heading in text
    assert text.count("users add admin --role admin --password-stdin") >= 3


def test_the_docs_link_each_other() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ("docs/install.md", "docs/production.md", "docs/configuration.md"):
        assert f"]({page})" in readme
        assert (ROOT / page).is_file()
    checklist = (ROOT / "docs" / "production.md").read_text(encoding="utf-8")
    for topic in ("## Secrets", "## TLS", "## Backups", "## Retention", "## Alerts", "## Resource limits",
                  "## Upgrade path"):
        assert topic in checklist
