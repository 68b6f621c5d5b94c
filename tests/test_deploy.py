"""The Kubernetes manifests in deploy/k8s/, checked offline against the API's schemas."""

import re
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.keda.v1alpha1 import ScaledObject

from rtvi_server.server import create_app
from rtvi_server.settings import ServerSettings

from .conftest import ROOT

K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.37.0"


def resources():
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    return [doc for name in listed for doc in yaml.safe_load_all((K8S / name).read_text())]


def by_kind(kind):
    return [d for d in resources() if d["kind"] == kind]


def deployment(name="rtvi-server"):
    return next(d for d in by_kind("Deployment") if d["metadata"]["name"] == name)


def server_container():
    return deployment()["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("path", sorted(p.name for p in K8S.glob("*.yaml")))
def test_every_core_object_validates_strictly(path):
    for doc in yaml.safe_load_all((K8S / path).read_text()):
        if doc["kind"] in ("ScaledObject", "Kustomization"):
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_scaled_object_matches_kedas_schema_with_no_unknown_field():
    (doc,) = by_kind("ScaledObject")
    parsed = ScaledObject.model_validate(doc)
    # The models ignore unknown keys: a round trip that loses one is a typo.
    assert parsed.model_dump(by_alias=True, exclude_unset=True, mode="json") == doc
    assert doc["spec"]["scaleTargetRef"]["name"] == deployment()["metadata"]["name"]


def test_the_scaling_metric_is_one_the_server_exports():
    (doc,) = by_kind("ScaledObject")
    query = doc["spec"]["triggers"][0]["metadata"]["query"]
    names = set(re.findall(r"\b(rtvi_[a-z_]+)\b", query))
    from rtvi_server.sessions import LocalBackend

    exported = LocalBackend(ServerSettings()).metrics.render()
    assert names
    assert all(f"# TYPE {name} gauge" in exported for name in names)


def test_probes_and_drain_match_the_server():
    container = server_container()
    paths = set(create_app(ServerSettings()).openapi()["paths"])
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready" in paths
    assert container["livenessProbe"]["httpGet"]["path"] == "/health" in paths
    settings = yaml.safe_load((K8S / "configmap.yaml").read_text())["data"]
    grace = float(settings["RTVI_DRAIN_GRACE"])
    pre_stop = float(container["lifecycle"]["preStop"]["exec"]["command"][1])
    pod = deployment()["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= grace + pre_stop + 10
    assert settings["RTVI_CLUSTER_URL"].startswith("redis://")


def test_every_setting_the_manifests_give_is_one_the_server_reads():
    example = (ROOT / ".env.example").read_text()
    settings = yaml.safe_load((K8S / "configmap.yaml").read_text())["data"]
    given = set(settings) | {e["name"] for e in server_container()["env"]}
    assert sorted(n for n in given if n.startswith("RTVI_") and n not in example) == []


def test_selectors_pick_the_pods_they_mean():
    labels = deployment()["spec"]["template"]["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget"):
        for doc in by_kind(kind):
            if doc["metadata"]["name"] != "rtvi-server":
                continue
            selector = doc["spec"]["selector"]
            selector = selector.get("matchLabels", selector)
            assert selector.items() <= labels.items(), kind


def test_kustomize_renders_the_same_objects():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed; the files above are what kustomize applies")
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=True
    ).stdout
    rendered = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(out)}
    assert rendered == {(d["kind"], d["metadata"]["name"]) for d in resources()}
