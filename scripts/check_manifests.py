"""Checks the rendered Kubernetes manifests for what the schemas cannot see.

    python scripts/check_manifests.py RENDERED_DIR

RENDERED_DIR holds <overlay>.yaml for base, dev and production (kustomize
output, rendered by scripts/check-deploy.sh). Writes <overlay>.json next to
each (for the Rust test that loads every container's configuration),
validates the KEDA ScaledObjects against deploy/schemas, and checks the
deployment's promises: probes, non-root and read-only root filesystems,
disruption budgets, replicas and stream replicas per overlay, anti-affinity
and limits in production, that only the ledger reaches Sluice's Postgres
(the executor only the action targets' databases, in other namespaces) and
only ingest is reachable from outside, that every workflow's files are in its
ConfigMap and every consumer has a KEDA trigger.
"""

import json
import pathlib
import sys

import jsonschema
import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
WORKERS = {"interpreter": "interpret", "gate": "gate", "executor": "execute", "notifier": "notify"}
failures = []


def fail(overlay, what):
    failures.append(f"{overlay}: {what}")


def by_kind(objects, kind):
    return [o for o in objects if o.get("kind") == kind]


def name(o):
    return o["metadata"]["name"]


def workflows():
    return sorted(p.parent for p in (REPO / "workflows").glob("*/workflow.toml"))


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
        if d["kind"] == "Deployment" and name(d) not in budgets:
            fail(overlay, f"{name(d)}: no PodDisruptionBudget")
    ledger = [d for d in by_kind(objects, "Deployment") if name(d) == "sluice-ledger"]
    probe = ledger[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] if ledger else {}
    if overlay != "production" and "grpc" not in probe:
        fail(overlay, "the ledger's readiness is not its gRPC health service")


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
    with_db = sorted(name(o) for o in by_kind(objects, "Deployment") + by_kind(objects, "Job")
                     if o["spec"]["template"]["metadata"].get("labels", {}).get("sluice.dev/database") == "true")
    if with_db != ["sluice-ledger", "sluice-migrate"]:
        fail(overlay, f"pods labelled for Postgres: {with_db}")


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
        check_workflow_config(overlay, objects)
        print(f"check_manifests: {overlay}: {len(objects)} objects")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
