"""The Kubernetes manifests in deploy/kubernetes/, checked without a cluster.

    kubernetes_check.py LEAKWATCH_BINARY REPO_ROOT GROUPS_OUT

There is no API server here, and Debian 12 has no offline schema validator
for manifests: kubeconform and kubeval are not packaged, and its kubectl
(kubernetes-client) validates only against a server's OpenAPI. So these
checks are the verification:

- every file parses (duplicate keys are errors, as in kubectl) and each
  document has the expected kind and apiVersion;
- the Namespace, DaemonSet and Service survive a round trip through the
  typed models of Debian's python3-kubernetes: a misspelt field (which an
  API server drops, or only warns about) or a value of the wrong type shows
  up as a difference. Bookworm's models (22.6) are the Kubernetes 1.22
  API: a field added later would be reported too, and needs a comment here.
  The Operator's ServiceMonitor and PrometheusRule have no models there;
  the fields they use are checked one by one below;
- the DaemonSet mounts only the host's /sys/fs/cgroup, read-only; runs
  read-only, non-root (the Dockerfile's uid), without capabilities or
  privilege escalation, under RuntimeDefault seccomp; shares the node's
  PID namespace (hostPID, for per-process leak attribution) but not its
  network or IPC; tolerates every taint;
  has requests and limits, and probes on /healthz; and passes only contract
  flags (contract_flags.py), which the binary itself accepts, with
  --cgroup.root where the cgroups are mounted and the port that is exposed;
- the Service selects the DaemonSet's pods and the container's port; the
  ServiceMonitor selects the Service and its port name, scrapes the
  telemetry path, and yields the job label the alert rules' up{job=...}
  expects, computed as the Operator does;
- the PrometheusRule's spec.groups equal deploy/prometheus/leakwatch.rules.yml's
  groups after parsing; they are written to GROUPS_OUT for promtool;
- kustomization.yaml lists exactly the manifests.

Exits 1 after printing every failure.
"""
import json
import os
import re
import sys

import yaml

import contract_flags

EXPECTED = {
    "Namespace": "v1",
    "DaemonSet": "apps/v1",
    "Service": "v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
}
MODELS = {"Namespace": "V1Namespace", "DaemonSet": "V1DaemonSet", "Service": "V1Service"}
KUSTOMIZATION = "kustomization.yaml"
CGROUP_HOST_PATH = "/sys/fs/cgroup"
HEALTH_PATH = "/healthz"
# Taints a DaemonSet meets: the control plane's (kubeadm, current and old)
# and whatever a cluster adds of its own.
TAINTS = [
    {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
    {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"},
    {"key": "example.com/dedicated", "value": "gpu", "effect": "NoSchedule"},
    {"key": "example.com/draining", "value": "true", "effect": "NoExecute"},
]

errors = []


def fail(where, msg):
    errors.append("%s: %s" % (where, msg))


class StrictLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, "duplicate key %r" % (key,), key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_all(path):
    with open(path) as f:
        return list(yaml.load_all(f, Loader=StrictLoader))


def differences(a, b, path=()):
    """Where B differs from A: (path, what), path a tuple of keys and indexes,
    what "only in a", "only in b" or "changed"."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in a:
            out += [(path + (k,), "only in a")] if k not in b else differences(a[k], b[k], path + (k,))
        out += [(path + (k,), "only in b") for k in b if k not in a]
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, path + (i,))
        out += [(path + (i,), "only in a") for i in range(len(b), len(a))]
        out += [(path + (i,), "only in b") for i in range(len(a), len(b))]
        return out
    if a != b or type(a) is not type(b):
        return [(path, "changed")]
    return []


def lookup(doc, path):
    for k in path:
        doc = doc[k]
    return doc


def show(path):
    return "".join("[%d]" % k if isinstance(k, int) else "." + k for k in path)


def roundtrip(where, doc, model):
    from kubernetes.client import ApiClient

    class Reply:
        data = json.dumps(doc)

    client = ApiClient()
    try:
        back = client.sanitize_for_serialization(client.deserialize(Reply, model))
    except (ValueError, TypeError) as e:
        fail(where, "not a valid %s: %s" % (model, e))
        return
    sent = json.loads(Reply.data)
    for path, what in differences(sent, back):
        if what == "only in a":
            fail(where, "%s: not a field of the API (misspelt?)" % show(path))
        elif what == "changed":
            fail(where, "%s: %r comes back as %r (wrong type?)"
                 % (show(path), lookup(sent, path), lookup(back, path)))


def quantity(q):
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?", str(q))
    if not m:
        return None
    mult = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    return float(m.group(1)) * mult[m.group(2)]


def tolerated(tolerations, taint):
    """Kubernetes' rule: does any toleration match the taint?"""
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        op = t.get("operator", "Equal")
        if not t.get("key"):
            if op == "Exists":
                return True
            continue
        if t["key"] != taint["key"]:
            continue
        if op == "Exists" or t.get("value", "") == taint.get("value", ""):
            return True
    return False


def listen_port(address):
    m = re.fullmatch(r".*:([0-9]+)", address)
    return int(m.group(1)) if m else None


def dockerfile_uid(root):
    with open(os.path.join(root, "Dockerfile")) as f:
        m = re.search(r"useradd\b[^\n]*--uid\s+([0-9]+)", f.read())
    return int(m.group(1)) if m else None


def check_daemonset(where, ds, binary, root):
    """Returns (pod labels, container, flag values)."""
    spec = ds.get("spec", {})
    tmpl = spec.get("template", {})
    labels = tmpl.get("metadata", {}).get("labels", {}) or {}
    pod = tmpl.get("spec", {})
    match = spec.get("selector", {}).get("matchLabels", {}) or {}
    if not match or any(labels.get(k) != v for k, v in match.items()):
        fail(where, "selector.matchLabels %r does not select the pod labels %r" % (match, labels))

    for key in ("hostNetwork", "hostIPC"):
        if pod.get(key):
            fail(where, "%s is on" % key)
    # The one host namespace it needs: the containers' /proc/<pid>/status
    # say which process accounts for a leak.
    if pod.get("hostPID") is not True:
        fail(where, "hostPID is not true: leakwatch cannot say which process leaks")
    if pod.get("automountServiceAccountToken") is not False:
        fail(where, "automountServiceAccountToken is not false (leakwatch never calls the API)")
    for taint in TAINTS:
        if not tolerated(pod.get("tolerations", []), taint):
            fail(where, "does not tolerate the taint %r: not on every node" % taint)

    volumes = pod.get("volumes", [])
    host_paths = [v for v in volumes if "hostPath" in v]
    cgroup = [v for v in host_paths if v["hostPath"].get("path", "").rstrip("/") == CGROUP_HOST_PATH]
    if len(cgroup) != 1:
        fail(where, "wants one hostPath volume of %s, has %d" % (CGROUP_HOST_PATH, len(cgroup)))
        return labels, None, {}
    cgroup = cgroup[0]
    for v in host_paths:
        if v is not cgroup:
            fail(where, "hostPath volume %s (%s): only the cgroups are read from the node"
                 % (v.get("name"), v["hostPath"].get("path")))
    if cgroup["hostPath"].get("type") != "Directory":
        fail(where, "the cgroup hostPath has type %r, want Directory" % cgroup["hostPath"].get("type"))

    containers = pod.get("containers", [])
    if len(containers) != 1:
        fail(where, "wants one container, has %d" % len(containers))
        return labels, None, {}
    psc = pod.get("securityContext", {}) or {}
    uid = dockerfile_uid(root)
    for c in containers + pod.get("initContainers", []):
        cw = "%s: container %s" % (where, c.get("name"))
        sc = c.get("securityContext", {}) or {}
        if sc.get("readOnlyRootFilesystem") is not True:
            fail(cw, "readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(cw, "allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            fail(cw, "privileged")
        caps = sc.get("capabilities", {}) or {}
        if "ALL" not in (caps.get("drop") or []):
            fail(cw, "capabilities.drop lacks ALL")
        if caps.get("add"):
            fail(cw, "adds capabilities %r" % caps["add"])
        if sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is not True:
            fail(cw, "runAsNonRoot is not true")
        run_uid = sc.get("runAsUser", psc.get("runAsUser"))
        if run_uid != uid:
            fail(cw, "runAsUser %r is not the image's user, uid %r in the Dockerfile" % (run_uid, uid))
        if sc.get("runAsGroup", psc.get("runAsGroup")) in (None, 0):
            fail(cw, "runAsGroup is unset or 0")
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile")) or {}
        if seccomp.get("type") != "RuntimeDefault":
            fail(cw, "seccompProfile.type is %r, want RuntimeDefault" % seccomp.get("type"))
        for m in c.get("volumeMounts", []):
            if m.get("name") == cgroup.get("name"):
                if m.get("readOnly") is not True:
                    fail(cw, "mounts the cgroups at %s without readOnly: true" % m.get("mountPath"))
                if m.get("mountPropagation", "None") not in ("None", "HostToContainer"):
                    fail(cw, "mountPropagation %s: only None or HostToContainer" % m["mountPropagation"])
        for p in c.get("ports", []):
            if "hostPort" in p:
                fail(cw, "hostPort %r" % p["hostPort"])

    c = containers[0]
    cw = "%s: container %s" % (where, c.get("name"))
    if "command" in c:
        fail(cw, "sets command; the image's entrypoint is leakwatch")
    args = [str(a) for a in c.get("args", [])]
    for e in contract_flags.check_args(args, binary, cw + " args"):
        errors.append(e)
    for e in contract_flags.config_check(args, binary, cw + " args"):
        errors.append(e)
    flags = contract_flags.flag_values(args)

    mounts = [m for m in c.get("volumeMounts", []) if m.get("name") == cgroup.get("name")]
    mount_paths = [m.get("mountPath", "").rstrip("/") for m in mounts]
    root_flag = flags.get("--cgroup.root", CGROUP_HOST_PATH).rstrip("/")
    if root_flag not in mount_paths:
        fail(cw, "--cgroup.root is %s, but the node's cgroups are mounted at %s"
             % (root_flag, ", ".join(mount_paths) or "no path"))
    if flags.get("--docker.host") != "none":
        fail(cw, "--docker.host is %r, want none: no Docker socket is mounted, so "
             "leakwatch_docker_up would stay 0 and LeakwatchDockerDown fire on every node"
             % flags.get("--docker.host"))

    port = listen_port(flags.get("--web.listen-address", ":9702"))
    metrics_ports = [p for p in c.get("ports", []) if p.get("name") == "http-metrics"]
    if len(metrics_ports) != 1 or metrics_ports[0].get("containerPort") != port:
        fail(cw, "wants one port named http-metrics with containerPort %r (--web.listen-address), has %r"
             % (port, c.get("ports")))
    for probe in ("livenessProbe", "readinessProbe"):
        get = (c.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != HEALTH_PATH or get.get("port") not in ("http-metrics", port):
            fail(cw, "%s is not an httpGet of %s on http-metrics: %r" % (probe, HEALTH_PATH, c.get(probe)))

    res = c.get("resources", {}) or {}
    for kind in ("cpu", "memory"):
        req = quantity((res.get("requests") or {}).get(kind))
        lim = quantity((res.get("limits") or {}).get(kind))
        if req is None or lim is None:
            fail(cw, "resources want a %s request and limit, have %r" % (kind, res))
        elif req > lim:
            fail(cw, "the %s request is above its limit" % kind)
    return labels, c, flags


def main(binary, root, groups_out):
    kdir = os.path.join(root, "deploy", "kubernetes")
    rules_path = os.path.join(root, "deploy", "prometheus", "leakwatch.rules.yml")
    files = sorted(f for f in os.listdir(kdir) if f.endswith((".yml", ".yaml")))
    docs = {}  # kind -> (file, doc)
    manifests = []
    for name in files:
        path = os.path.join(kdir, name)
        try:
            loaded = load_all(path)
        except yaml.YAMLError as e:
            fail(name, "does not parse: %s" % e)
            continue
        if name == KUSTOMIZATION:
            continue
        manifests.append(name)
        # kubectl skips empty documents (a stray ---); a file of nothing
        # else is a mistake.
        loaded = [d for d in loaded if d is not None]
        if not loaded:
            fail(name, "has no document")
            continue
        for i, d in enumerate(loaded):
            where = "%s[%d]" % (name, i)
            if not isinstance(d, dict) or not d.get("metadata", {}).get("name"):
                fail(where, "not an object with metadata.name")
                continue
            kind, api = d.get("kind"), d.get("apiVersion")
            if kind not in EXPECTED:
                fail(where, "unexpected kind %r" % kind)
                continue
            if api != EXPECTED[kind]:
                fail(where, "%s has apiVersion %r, want %r" % (kind, api, EXPECTED[kind]))
            if kind in docs:
                fail(where, "a second %s (the first is in %s)" % (kind, docs[kind][0]))
            docs[kind] = (name, d)
    for kind in EXPECTED:
        if kind not in docs:
            fail(kdir, "no %s" % kind)
    if errors:
        return report()

    for kind, model in MODELS.items():
        roundtrip(docs[kind][0], docs[kind][1], model)

    ns = docs["Namespace"][1]["metadata"]["name"]
    for kind, (name, d) in docs.items():
        if kind != "Namespace" and d["metadata"].get("namespace") != ns:
            fail(name, "%s is in namespace %r, not %r" % (kind, d["metadata"].get("namespace"), ns))

    ds_file, ds = docs["DaemonSet"]
    pod_labels, container, flags = check_daemonset(ds_file, ds, binary, root)

    svc_file, svc = docs["Service"]
    sel = svc.get("spec", {}).get("selector") or {}
    if not sel or any(pod_labels.get(k) != v for k, v in sel.items()):
        fail(svc_file, "selector %r does not select the DaemonSet's pods %r" % (sel, pod_labels))
    svc_ports = {p.get("name"): p for p in svc.get("spec", {}).get("ports", [])}
    if container is not None:
        cports = {p.get("name"): p.get("containerPort") for p in container.get("ports", [])}
        for pname, p in svc_ports.items():
            target = p.get("targetPort", p.get("port"))
            if target not in cports and target not in cports.values():
                fail(svc_file, "port %s targets %r, which the container does not expose %r"
                     % (pname, target, cports))

    sm_file, sm = docs["ServiceMonitor"]
    known = {"jobLabel", "selector", "endpoints", "namespaceSelector", "targetLabels", "podTargetLabels"}
    sm_spec = sm.get("spec", {})
    for k in sm_spec:
        if k not in known:
            fail(sm_file, "spec.%s: not a field this check knows" % k)
    smsel = sm_spec.get("selector", {})
    if set(smsel) - {"matchLabels"}:
        fail(sm_file, "selector uses %s; only matchLabels is checked" % sorted(set(smsel) - {"matchLabels"}))
    svc_labels = svc["metadata"].get("labels", {}) or {}
    ml = smsel.get("matchLabels") or {}
    if not ml or any(svc_labels.get(k) != v for k, v in ml.items()):
        fail(sm_file, "selector.matchLabels %r does not select the Service's labels %r" % (ml, svc_labels))
    nsel = sm_spec.get("namespaceSelector")
    if nsel is not None and not nsel.get("any") and ns not in (nsel.get("matchNames") or []):
        fail(sm_file, "namespaceSelector %r leaves out %s" % (nsel, ns))
    # The Operator: job is the Service's name, unless jobLabel names a
    # Service label with a value (pkg/prometheus/promcfg.go).
    job = svc["metadata"]["name"]
    if sm_spec.get("jobLabel"):
        if not svc_labels.get(sm_spec["jobLabel"]):
            fail(sm_file, "jobLabel %s is not a label of the Service" % sm_spec["jobLabel"])
        else:
            job = svc_labels[sm_spec["jobLabel"]]
    endpoints = sm_spec.get("endpoints") or []
    if not endpoints:
        fail(sm_file, "no endpoints")
    telemetry = flags.get("--web.telemetry-path", "/metrics")
    ep_known = {"port", "path", "interval", "scrapeTimeout", "scheme", "relabelings",
                "metricRelabelings", "honorLabels"}
    for i, ep in enumerate(endpoints):
        ew = "%s: endpoints[%d]" % (sm_file, i)
        for k in ep:
            if k not in ep_known:
                fail(ew, "%s: not a field this check knows" % k)
        if ep.get("port") not in svc_ports:
            fail(ew, "port %r is not a port name of the Service %r" % (ep.get("port"), sorted(svc_ports)))
        if ep.get("path", "/metrics") != telemetry:
            fail(ew, "path %r, but leakwatch serves %s" % (ep.get("path"), telemetry))
        for r in ep.get("relabelings") or []:
            for k in set(r) - {"sourceLabels", "separator", "targetLabel", "regex",
                               "modulus", "replacement", "action"}:
                fail(ew, "relabelings: %s is not a field of a RelabelConfig" % k)
            if r.get("targetLabel") == "job":
                fail(ew, "a relabeling sets job, which this check does not follow")
    with open(rules_path) as f:
        rules = yaml.load(f, Loader=StrictLoader)
    jobs = {j for g in rules.get("groups", []) for r in g.get("rules", [])
            for j in re.findall(r'\bup\{[^}]*\bjob="([^"]*)"', str(r.get("expr", "")))}
    if len(jobs) != 1:
        fail(rules_path, "want one job in up{job=...}, found %r" % sorted(jobs))
    elif job not in jobs:
        fail(sm_file, "Prometheus would scrape it as job=%r; the alert rules expect job=%r"
             % (job, jobs.pop()))

    pr_file, pr = docs["PrometheusRule"]
    if set(pr.get("spec", {})) != {"groups"}:
        fail(pr_file, "spec has %r, want only groups" % sorted(pr.get("spec", {})))
    if set(rules) != {"groups"}:
        fail(rules_path, "has %r besides groups" % sorted(set(rules) - {"groups"}))
    groups = pr.get("spec", {}).get("groups")
    if groups != rules.get("groups"):
        rname = os.path.relpath(rules_path, root)
        for path, what in differences(rules.get("groups"), groups) or [((), "changed")]:
            where = "spec.groups" + show(path)
            if what == "only in a":
                fail(pr_file, "%s: only in %s" % (where, rname))
            elif what == "only in b":
                fail(pr_file, "%s: not in %s" % (where, rname))
            else:
                fail(pr_file, "%s: %r here, %r in %s"
                     % (where, lookup(groups, path), lookup(rules.get("groups"), path), rname))
        fail(pr_file, "regenerate spec.groups as its header comment says")
    with open(groups_out, "w") as f:
        yaml.safe_dump({"groups": groups}, f, sort_keys=False)

    kpath = os.path.join(kdir, KUSTOMIZATION)
    if os.path.exists(kpath):
        k = load_all(kpath)[0] or {}
        if (k.get("apiVersion"), k.get("kind")) != ("kustomize.config.k8s.io/v1beta1", "Kustomization"):
            fail(KUSTOMIZATION, "not a kustomize.config.k8s.io/v1beta1 Kustomization")
        res = k.get("resources") or []
        if sorted(res) != sorted(manifests):
            fail(KUSTOMIZATION, "resources %r are not the manifests %r" % (sorted(res), sorted(manifests)))
    return report(docs)


def report(docs=None):
    for e in errors:
        print("FAIL: " + e, file=sys.stderr)
    if errors:
        return 1
    print("deploy/kubernetes: %s" % ", ".join("%s %s (%s)" % (d["apiVersion"], k, f)
                                              for k, (f, d) in docs.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
