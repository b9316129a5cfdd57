"""deploy/kubernetes/kecs.yaml, the manifest that runs KECS in a cluster: every object parses,
RBAC grants exactly what the Kubernetes runtime calls, and the Deployment runs KECS on the
kubernetes runtime with its data on a volume and probes on the admin port."""
from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "kecs.yaml"


def objects():
    return {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(MANIFEST.read_text())}


def test_rbac_is_what_the_runtime_calls():
    o = objects()
    rules = {r["resources"][0]: set(r["verbs"]) for r in o[("ClusterRole", "kecs")]["rules"]}
    assert rules == {
        "namespaces": {"get", "create", "delete"},
        "pods": {"get", "list", "watch", "create", "patch", "delete"},
        "pods/log": {"get"},
        "services": {"create", "delete"},
    }
    binding = o[("ClusterRoleBinding", "kecs")]
    assert binding["roleRef"]["name"] == "kecs"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "kecs", "namespace": "kecs-system"}]


def test_deployment_runs_kecs_on_kubernetes():
    o = objects()
    d = o[("Deployment", "kecs")]
    assert d["spec"]["replicas"] == 1 and d["spec"]["strategy"]["type"] == "Recreate"
    pod = d["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "kecs"
    [c] = pod["containers"]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["KECS_RUNTIME"] == "kubernetes"
    assert env["KECS_API_ADDR"] == "0.0.0.0:8080"
    assert env["KECS_DATA_DIR"] == c["volumeMounts"][0]["mountPath"]
    localhost = [{"name": "Host", "value": "localhost"}]
    assert c["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "admin", "httpHeaders": localhost}
    assert c["livenessProbe"]["httpGet"]["httpHeaders"] == localhost
    assert "kecs.kecs-system.svc" in env["KECS_ALLOWED_HOSTS"].split(",")
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    claim = pod["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert ("PersistentVolumeClaim", claim) in o
    service = o[("Service", "kecs")]
    assert service["spec"]["selector"] == d["spec"]["selector"]["matchLabels"]
    assert {p["port"] for p in service["spec"]["ports"]} == {8080, 8081}
