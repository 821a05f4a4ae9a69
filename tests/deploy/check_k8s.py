#!/usr/bin/python3
"""Checks deploy/k8s/*.yaml without a Kubernetes cluster.

1. Schema: every object is deserialized into the typed models of Debian's
   python3-kubernetes (the Kubernetes API 1.22 client); a field the model does
   not know, a missing required field or a value of the wrong type fails.
   (No kubeconform or kubeval in Debian 12; kubectl validates only against a
   live API server.) Without python3-kubernetes this part is skipped, loudly.
2. Consistency: the StatefulSet's serviceName is a headless Service with
   publishNotReadyAddresses; selectors match the pod labels; probes and
   Service targetPorts name container ports; the initial cluster lists one
   member per replica, named after the pods' stable network ids.

Usage: check_k8s.py DIR
"""
import pathlib
import re
import sys

import yaml

errors = []


def error(msg):
    errors.append(msg)


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def check_schema(objects):
    try:
        import kubernetes.client as k8s
    except ImportError:
        print("check_k8s: python3-kubernetes is not installed: SKIPPING the schema check "
              "(apt-get install python3-kubernetes)")
        return
    api = k8s.ApiClient()

    def walk(value, type_name, path):
        # Compare keys with the model's attribute map, recursively.
        if value is None:
            return
        if type_name.startswith("list["):
            if not isinstance(value, list):
                error(f"{path}: expected a list")
                return
            for i, v in enumerate(value):
                walk(v, type_name[5:-1], f"{path}[{i}]")
            return
        if type_name.startswith("dict("):
            if not isinstance(value, dict):
                error(f"{path}: expected a map")
                return
            inner = type_name[type_name.index(",") + 1:-1].strip()
            for k, v in value.items():
                walk(v, inner, f"{path}.{k}")
            return
        model = getattr(k8s, type_name, None)
        if model is None:
            return  # str, int, bool, object, datetime
        if not isinstance(value, dict):
            error(f"{path}: expected a {type_name} object")
            return
        by_json = {j: a for a, j in model.attribute_map.items()}
        for k, v in value.items():
            if k not in by_json:
                error(f"{path}: {type_name} has no field {k!r}")
                continue
            walk(v, model.openapi_types[by_json[k]], f"{path}.{k}")

    for name, obj in objects:
        group_version = obj.get("apiVersion", "")
        version = group_version.split("/")[-1].capitalize()
        type_name = f"{version}{obj.get('kind', '')}"
        if getattr(k8s, type_name, None) is None:
            error(f"{name}: unknown kind {group_version} {obj.get('kind')}")
            continue
        walk(obj, type_name, f"{name}:{obj['kind']}")
        try:
            # Typed deserialization: required fields and value types.
            api._ApiClient__deserialize(obj, type_name)
        except (ValueError, TypeError) as e:
            error(f"{name}: {type_name}: {e}")


def container_ports(sts):
    ports = set()
    for c in sts["spec"]["template"]["spec"]["containers"]:
        for p in c.get("ports", []):
            ports.add(p["name"])
            ports.add(p["containerPort"])
    return ports


def check_consistency(objects):
    by_kind = {}
    for name, obj in objects:
        by_kind.setdefault(obj.get("kind"), []).append(obj)
    sets = by_kind.get("StatefulSet", [])
    if len(sets) != 1:
        error(f"expected one StatefulSet, found {len(sets)}")
        return
    sts = sets[0]
    spec = sts["spec"]
    labels = spec["template"]["metadata"]["labels"]

    def matches(selector):
        return selector and all(labels.get(k) == v for k, v in selector.items())

    if not matches(spec["selector"]["matchLabels"]):
        error("StatefulSet selector does not match its pod labels")
    if spec.get("podManagementPolicy") != "Parallel":
        error("StatefulSet needs podManagementPolicy: Parallel (readiness needs a quorum)")
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    headless = services.get(spec["serviceName"])
    if headless is None:
        error(f"serviceName {spec['serviceName']} is not a Service of the manifests")
    else:
        if headless["spec"].get("clusterIP") != "None":
            error(f"Service {spec['serviceName']} must be headless (clusterIP: None)")
        if not headless["spec"].get("publishNotReadyAddresses"):
            error(f"Service {spec['serviceName']} needs publishNotReadyAddresses: true")
    ports = container_ports(sts)
    for s in services.values():
        if not matches(s["spec"].get("selector")):
            error(f"Service {s['metadata']['name']} selects no rkv pod")
        for p in s["spec"]["ports"]:
            if p.get("targetPort", p["port"]) not in ports:
                error(f"Service {s['metadata']['name']}: targetPort {p.get('targetPort')} is no container port")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        if not matches(pdb["spec"]["selector"]["matchLabels"]):
            error("PodDisruptionBudget selects no rkv pod")
    if not by_kind.get("PodDisruptionBudget"):
        error("no PodDisruptionBudget")
    container = spec["template"]["spec"]["containers"][0]
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = container.get(probe, {}).get("httpGet", {})
        if get.get("path") != path:
            error(f"{probe} must GET {path}")
        if get.get("port") not in ports:
            error(f"{probe} port {get.get('port')} is no container port")
    annotations = spec["template"]["metadata"].get("annotations", {})
    if annotations.get("prometheus.io/scrape") != "true" or \
            int(annotations.get("prometheus.io/port", 0)) not in ports:
        error("pod template lacks prometheus.io/scrape and a prometheus.io/port of a container port")
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    initial = env.get("RKV_INITIAL_CLUSTER", "")
    members = dict(item.split("=", 1) for item in initial.split(",") if item)
    sts_name, svc = sts["metadata"]["name"], spec["serviceName"]
    want = {str(i + 1): f"{sts_name}-{i}.{svc}." for i in range(spec["replicas"])}
    if set(members) != set(want):
        error(f"RKV_INITIAL_CLUSTER has members {sorted(members)}; replicas={spec['replicas']} needs {sorted(want)}")
    for node_id, prefix in want.items():
        if not members.get(node_id, "").startswith(prefix):
            error(f"member {node_id} must be {prefix}...: the pod with ordinal {int(node_id) - 1}")
    if not spec.get("volumeClaimTemplates"):
        error("StatefulSet has no volumeClaimTemplates")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    objects = []
    for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                objects.append((path.name, doc))
    if not objects:
        error(f"no manifests in {sys.argv[1]}")
    check_schema(objects)
    check_consistency(objects)
    for e in errors:
        print(f"check_k8s: {e}", file=sys.stderr)
    if errors:
        return 1
    print(f"check_k8s: {len(objects)} objects OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
