"""Checks the rendered Kubernetes manifests for what the schemas cannot see.

    python scripts/check_manifests.py RENDERED_DIR

RENDERED_DIR holds <overlay>.yaml for base, dev and production (kustomize
output, rendered by scripts/check-deploy.sh). Writes <overlay>.json next to
each (for the Rust test that loads every container's configuration),
validates the KEDA ScaledObjects against deploy/schemas, and checks the
deployment's promises: probes, non-root and read-only root filesystems,
disruption budgets, replicas and stream replicas per overlay, anti-affinity
and limits in production, that only the ledger reaches Sluice's Postgres
(the executor only the action targets' databases, in other namespaces),
only ingest is reachable from anywhere and Prometheus reaches every health
port, that every workflow's files are in its ConfigMap and mounted where
each service reading them looks, and every consumer has a KEDA trigger.
The review console: reachable only from named namespaces (the ingress
controller) on its HTTP port, egress to DNS, NATS and the ledger only, no
ledger token of its own, sessions kept on one replica for as long as they
last, and a Secure cookie in production.
"""

import json
import pathlib
import sys

import jsonschema
import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
WORKERS = {"interpreter": "interpret", "gate": "gate", "executor": "execute", "notifier": "notify"}
CONSOLE = "sluice-console"
# The console's defaults (crates/console/src/options.rs) and what a Service
# keeps ClientIP affinity for unless told otherwise.
SESSION_TTL_MS = 8 * 3600 * 1000
AFFINITY_SECONDS = 10800
# What every Sluice pod may reach (sluice-egress-base): DNS, NATS, the ledger.
BASE_EGRESS_PORTS = {53, 4222, 50051}
failures = []


def fail(overlay, what):
    failures.append(f"{overlay}: {what}")


def by_kind(objects, kind):
    return [o for o in objects if o.get("kind") == kind]


def name(o):
    return o["metadata"]["name"]


def workflows():
    return sorted(p.parent for p in (REPO / "workflows").glob("*/workflow.toml"))


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def pod_labels(workload):
    return workload["spec"]["template"]["metadata"].get("labels", {})


def selects(selector, labels):
    """Whether a label selector (matchLabels and matchExpressions) selects `labels`."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        value, values = labels.get(e["key"]), e.get("values", [])
        matched = {"In": value in values, "NotIn": value not in values,
                   "Exists": e["key"] in labels, "DoesNotExist": e["key"] not in labels}[e["operator"]]
        if not matched:
            return False
    return True


def policies_for(objects, workload, direction):
    """The NetworkPolicies of `direction` (Ingress or Egress) that select the workload's pods."""
    return [p for p in by_kind(objects, "NetworkPolicy")
            if direction in p["spec"].get("policyTypes", [])
            and selects(p["spec"]["podSelector"], pod_labels(workload))]


def namespaces_named(rule):
    """The namespaces a rule's peers name, or None when a peer is anything else
    (a pod selector, an IP block, every namespace)."""
    names = set()
    for peer in rule.get("from", rule.get("to", [])):
        name_ = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        if set(peer) != {"namespaceSelector"} or not name_:
            return None
        names.add(name_)
    return names or None


def rule_ports(rule):
    return {p.get("port") for p in rule.get("ports", [])}


def check_pods(overlay, objects):
    budgets = {p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
               for p in by_kind(objects, "PodDisruptionBudget")}
    for d in by_kind(objects, "Deployment") + by_kind(objects, "Job"):
        pod = d["spec"]["template"]["spec"]
        ctx = pod.get("securityContext", {})
        if not ctx.get("runAsNonRoot") or ctx.get("runAsUser", 0) == 0:
            fail(overlay, f"{name(d)} may run as root")
        if pod.get("automountServiceAccountToken") is not False:
            fail(overlay, f"{name(d)} mounts a service account token")
        for c in pod["containers"]:
            sc = c.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem"):
                fail(overlay, f"{name(d)}: root filesystem is writable")
            if sc.get("allowPrivilegeEscalation") is not False or "ALL" not in sc.get("capabilities", {}).get("drop", []):
                fail(overlay, f"{name(d)}: privileges not dropped")
            if d["kind"] == "Deployment" and not (c.get("livenessProbe") and c.get("readinessProbe")):
                fail(overlay, f"{name(d)}: no liveness and readiness probes")
            if overlay == "production" and not c.get("resources", {}).get("limits"):
                fail(overlay, f"{name(d)}: no resource limits")
            if "SLUICE_WORKFLOWS_DIR" in env_of(c):
                check_workflows_mount(overlay, d, c)
        if d["kind"] == "Deployment" and name(d) not in budgets:
            fail(overlay, f"{name(d)}: no PodDisruptionBudget")
    ledger = [d for d in by_kind(objects, "Deployment") if name(d) == "sluice-ledger"]
    probe = ledger[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] if ledger else {}
    if overlay != "production" and "grpc" not in probe:
        fail(overlay, "the ledger's readiness is not its gRPC health service")


def check_workflows_mount(overlay, workload, container):
    """SLUICE_WORKFLOWS_DIR is a mount of every workflow's ConfigMap, each
    file at <workflow>/<file>."""
    path = env_of(container)["SLUICE_WORKFLOWS_DIR"]
    mounted = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"].get("volumes", [])}
    volume = volumes.get(mounted.get(path), {})
    sources = [src["configMap"] for src in volume.get("projected", {}).get("sources", []) if "configMap" in src]
    for wf in workflows():
        files = {f"{wf.name}/{p.name}" for p in wf.iterdir() if p.is_file()}
        found = [src for src in sources if src["name"].startswith(f"sluice-workflow-{wf.name}-")]
        if not found or {i["path"] for i in found[0].get("items", [])} != files:
            fail(overlay, f"{name(workload)}: workflows/{wf.name}/ is not mounted at {path} (SLUICE_WORKFLOWS_DIR)")


def provision_replicas(objects):
    job = [j for j in by_kind(objects, "Job") if name(j) == "sluice-provision"][0]
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    return int(command[command.index("--replicas") + 1])


def check_replicas(overlay, objects):
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in by_kind(objects, "ScaledObject")}
    for d in by_kind(objects, "Deployment"):
        replicas = d["spec"].get("replicas")
        if overlay == "dev" and replicas != 1:
            fail(overlay, f"{name(d)}: {replicas} replicas, dev runs one")
        if overlay == "production":
            minimum = scaled[name(d)]["spec"]["minReplicaCount"] if name(d) in scaled else replicas
            if name(d) in scaled and replicas is not None:
                fail(overlay, f"{name(d)}: sets replicas although KEDA owns them")
            if (minimum or 0) < 2:
                fail(overlay, f"{name(d)}: fewer than two replicas")
            affinity = d["spec"]["template"]["spec"].get("affinity", {}).get("podAntiAffinity")
            if not affinity:
                fail(overlay, f"{name(d)}: no pod anti-affinity")
    expected = {"dev": 1, "production": 3}.get(overlay)
    if expected and provision_replicas(objects) != expected:
        fail(overlay, f"streams get {provision_replicas(objects)} replicas, expected {expected}")
    if overlay == "dev" and scaled:
        fail(overlay, "dev runs without KEDA")


def check_keda(overlay, objects):
    schema = json.loads((REPO / "deploy/schemas/keda-scaledobject.json").read_text())
    deployments = {name(d) for d in by_kind(objects, "Deployment")}
    for s in by_kind(objects, "ScaledObject"):
        for error in jsonschema.Draft202012Validator(schema).iter_errors(s):
            fail(overlay, f"ScaledObject {name(s)}: {error.message} at {list(error.absolute_path)}")
        if s["spec"]["scaleTargetRef"]["name"] not in deployments:
            fail(overlay, f"ScaledObject {name(s)} scales nothing")
    triggers = {(name(s), t["metadata"].get("consumer")) for s in by_kind(objects, "ScaledObject")
                for t in s["spec"]["triggers"]}
    if overlay == "dev":
        return
    for service, stage in WORKERS.items():
        for wf in workflows():
            if (f"sluice-{service}", f"sluice-{stage}-{wf.name}") not in triggers:
                fail(overlay, f"no KEDA trigger for sluice-{stage}-{wf.name}")


def target_databases_only(policy, rule, objects):
    """The executor's postgres actions may reach Postgres in other
    namespaces (the targets' own databases), never in Sluice's."""
    own = {o["metadata"].get("namespace") for o in objects} - {None}
    peers = rule.get("to", [])
    names = [peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
             for peer in peers]
    return (policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "sluice-executor"}}
            and peers and all(n and n not in own for n in names) and all(set(p) == {"namespaceSelector"} for p in peers))


def check_network(overlay, objects):
    policies = by_kind(objects, "NetworkPolicy")
    if not any(p["spec"]["podSelector"] == {} and not p["spec"].get("ingress") and not p["spec"].get("egress")
               for p in policies):
        fail(overlay, "no default-deny NetworkPolicy")
    for p in policies:
        for rule in p["spec"].get("ingress", []):
            if "from" not in rule and p["spec"]["podSelector"] != {"matchLabels": {"app.kubernetes.io/name": "sluice-ingest"}}:
                fail(overlay, f"{name(p)} lets anything reach more than ingest")
        for rule in p["spec"].get("egress", []):
            if any(port.get("port") == 5432 for port in rule.get("ports", [])) and \
                    p["spec"]["podSelector"] != {"matchLabels": {"sluice.dev/database": "true"}} and \
                    not target_databases_only(p, rule, objects):
                fail(overlay, f"{name(p)} opens Postgres to more than the ledger")
    for d in by_kind(objects, "Deployment"):
        for c in d["spec"]["template"]["spec"]["containers"]:
            health = {p["name"]: p["containerPort"] for p in c.get("ports", [])}.get("health")
            if not any(namespaces_named(rule) == {"monitoring"} and health in rule_ports(rule)
                       for p in policies_for(objects, d, "Ingress") for rule in p["spec"].get("ingress", [])):
                fail(overlay, f"{name(d)}: Prometheus cannot reach its health port {health}")
    with_db = sorted(name(o) for o in by_kind(objects, "Deployment") + by_kind(objects, "Job")
                     if o["spec"]["template"]["metadata"].get("labels", {}).get("sluice.dev/database") == "true")
    if with_db != ["sluice-ledger", "sluice-migrate"]:
        fail(overlay, f"pods labelled for Postgres: {with_db}")


def check_console(overlay, objects):
    """The review console: people reach it through the ingress controller
    (named namespaces, its HTTP port only), it reaches only what every pod
    does, operators bring their own ledger token, and its in-memory sessions
    stay on the replica they were made on."""
    found = [d for d in by_kind(objects, "Deployment") if name(d) == CONSOLE]
    if not found:
        fail(overlay, f"no {CONSOLE} Deployment")
        return
    console = found[0]
    container = console["spec"]["template"]["spec"]["containers"][0]
    env = env_of(container)
    http = {p["name"]: p["containerPort"] for p in container.get("ports", [])}.get("http")
    own = {o["metadata"].get("namespace") for o in objects} - {None}
    reachable = False
    for p in policies_for(objects, console, "Ingress"):
        for rule in p["spec"].get("ingress", []):
            names = namespaces_named(rule)
            if names is None or names & own:
                fail(overlay, f"{name(p)} lets more than named namespaces reach the console")
            elif names == {"monitoring"} and http not in rule_ports(rule):
                continue
            elif rule_ports(rule) != {http}:
                fail(overlay, f"{name(p)} opens the console on more than its HTTP port {http}")
            else:
                reachable = True
    if not reachable:
        fail(overlay, f"nothing may reach the console on its HTTP port {http}")
    for p in policies_for(objects, console, "Egress"):
        for rule in p["spec"].get("egress", []):
            if not rule_ports(rule) or rule_ports(rule) - BASE_EGRESS_PORTS:
                fail(overlay, f"{name(p)} lets the console reach more than DNS, NATS and the ledger")
    if any(e["name"] == "SLUICE_LEDGER__TOKEN" for e in container.get("env", [])):
        fail(overlay, "the console has a ledger token: every call must carry the operator's own")
    if overlay == "production" and env.get("SLUICE_SECURE_COOKIE") != "true":
        fail(overlay, "the console's session cookie is not Secure (SLUICE_SECURE_COOKIE)")
    ttl_ms = int(env.get("SLUICE_SESSION_TTL_MS") or SESSION_TTL_MS)
    services = [s for s in by_kind(objects, "Service")
                if s["spec"].get("selector", {}).get("app.kubernetes.io/name") == CONSOLE]
    if not services:
        fail(overlay, f"no Service for {CONSOLE}")
    for s in services:
        timeout = s["spec"].get("sessionAffinityConfig", {}).get("clientIP", {}).get("timeoutSeconds", AFFINITY_SECONDS)
        if s["spec"].get("sessionAffinity") != "ClientIP":
            fail(overlay, f"Service {name(s)}: sessions are per replica, but it has no ClientIP affinity")
        elif timeout * 1000 < ttl_ms:
            fail(overlay, f"Service {name(s)}: affinity ends after {timeout} s, a session lasts {ttl_ms} ms")


def check_workflow_config(overlay, objects):
    maps = {name(m): m for m in by_kind(objects, "ConfigMap")}
    for wf in workflows():
        found = [m for n, m in maps.items() if n.startswith(f"sluice-workflow-{wf.name}-")]
        if not found:
            fail(overlay, f"no ConfigMap for workflow {wf.name}")
            continue
        files = {p.name: p.read_text() for p in wf.iterdir() if p.is_file()}
        if found[0].get("data") != files:
            fail(overlay, f"ConfigMap of {wf.name} differs from workflows/{wf.name}/ (files {sorted(files)})")


def main():
    rendered = pathlib.Path(sys.argv[1])
    for overlay in ["base", "dev", "production"]:
        objects = [o for o in yaml.safe_load_all((rendered / f"{overlay}.yaml").read_text()) if o]
        (rendered / f"{overlay}.json").write_text(json.dumps(objects, indent=1))
        check_pods(overlay, objects)
        check_replicas(overlay, objects)
        check_keda(overlay, objects)
        check_network(overlay, objects)
        check_console(overlay, objects)
        check_workflow_config(overlay, objects)
        print(f"check_manifests: {overlay}: {len(objects)} objects")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
