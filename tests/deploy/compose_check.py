"""Checks the resolved docker-compose stack (`docker-compose config`).

    compose_check.py RESOLVED.yml REPO_ROOT LEAKWATCH WORKDIR

- leakwatch: reads /sys/fs/cgroup and the Docker socket, both read-only
  mounts; joins the docker group from DOCKER_GID; a read-only root and no
  capabilities; the host's PID namespace (per-process leak attribution
  reads the containers' /proc/<pid>/status); its flags are ones
  `leakwatch --help` lists, and the config file it is given passes
  --config.check.
- Every bind mount's source exists in the repository.
- Prometheus: its mounted config and rules pass `promtool check config`,
  it scrapes leakwatch's service and port as job "leakwatch" (the rules
  expect that job), and sends alerts to the alertmanager service.
- Alertmanager: its config passes `amtool check-config`.
- Grafana: the datasource points at the prometheus service; the dashboard
  provider's path is where grafana-dashboards/ is mounted, and it holds
  leakwatch.json.
Exits 1 listing every failure.
"""
import os
import re
import shutil
import subprocess
import sys

import yaml

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def mounts(service):
    """(source, target, read_only) of each volume, as docker-compose resolves them."""
    out = []
    for v in service.get("volumes", []):
        if isinstance(v, dict):
            out.append((v.get("source"), v["target"], bool(v.get("read_only"))))
        else:
            parts = v.split(":")
            out.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
    return out


def mounted(service, target):
    for src, tgt, ro in mounts(service):
        if tgt == target:
            return src, ro
    return None, False


def published(service, port):
    for p in service.get("ports", []):
        if isinstance(p, dict) and p.get("target") == port:
            return True
        if isinstance(p, str) and p.split(":")[-1].split("/")[0] == str(port):
            return True
    return False


def main(resolved, repo, leakwatch, work):
    with open(resolved) as f:
        stack = yaml.safe_load(f)
    services = stack["services"]
    for name in ("leakwatch", "prometheus", "alertmanager", "grafana"):
        if name not in services:
            fail("no %s service" % name)
    if failures:
        return

    # Every bind mount's source exists.
    for name, svc in services.items():
        for src, tgt, _ in mounts(svc):
            if src and src.startswith("/") and src.startswith(repo) and not os.path.exists(src):
                fail("%s mounts %s, which does not exist" % (name, src))

    # leakwatch
    lw = services["leakwatch"]
    src, ro = mounted(lw, "/sys/fs/cgroup")
    if src != "/sys/fs/cgroup" or not ro:
        fail("leakwatch: /sys/fs/cgroup must be the host's, read-only (got %s, ro=%s)" % (src, ro))
    src, _ = mounted(lw, "/var/run/docker.sock")
    if src != "/var/run/docker.sock":
        fail("leakwatch: the Docker socket is not mounted at /var/run/docker.sock")
    if lw.get("group_add") != ["4242"]:
        fail("leakwatch: group_add %s does not follow DOCKER_GID" % lw.get("group_add"))
    if not lw.get("read_only"):
        fail("leakwatch: root filesystem not read-only")
    if "ALL" not in lw.get("cap_drop", []):
        fail("leakwatch: capabilities not dropped")
    if lw.get("pid") != "host":
        fail("leakwatch: pid is %r, want host: without the host's PID namespace leakwatch "
             "cannot say which process leaks" % lw.get("pid"))
    if lw.get("user") in ("root", "0", "0:0"):
        fail("leakwatch: runs as root")
    if not published(lw, 9702):
        fail("leakwatch: port 9702 not published")
    help_text = subprocess.run([leakwatch, "--help"], capture_output=True, text=True, check=True).stdout
    known = set(re.findall(r"--[a-z][a-z0-9.-]+", help_text))
    args = lw.get("command", [])
    if isinstance(args, str):
        args = args.split()
    for a in args:
        if a.startswith("--") and a.split("=")[0] not in known:
            fail("leakwatch: flag %s is not one leakwatch --help lists" % a)
    if "--config.file" in args:
        target = args[args.index("--config.file") + 1]
        src, ro = mounted(lw, target)
        if not src:
            fail("leakwatch: --config.file %s is not mounted" % target)
        else:
            r = subprocess.run([leakwatch, "--config.file", src, "--config.check"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                fail("leakwatch: %s fails --config.check: %s" % (src, r.stdout + r.stderr))

    # Prometheus: rebuild its /etc/prometheus from the mounts, then promtool.
    prom = services["prometheus"]
    etc = os.path.join(work, "etc-prometheus")
    os.makedirs(etc)
    for src, tgt, _ in mounts(prom):
        if tgt.startswith("/etc/prometheus/"):
            shutil.copy(src, os.path.join(etc, os.path.basename(tgt)))
    cfg_flag = [a for a in prom.get("command", []) if a.startswith("--config.file=")]
    if not cfg_flag:
        fail("prometheus: no --config.file")
        return
    cfg_path = os.path.join(etc, os.path.basename(cfg_flag[0].split("=", 1)[1]))
    r = subprocess.run(["promtool", "check", "config", cfg_path], capture_output=True, text=True)
    if r.returncode != 0:
        fail("prometheus: promtool check config: %s" % (r.stdout + r.stderr))
    with open(cfg_path) as f:
        pcfg = yaml.safe_load(f)
    rules_src = os.path.join(repo, "deploy", "prometheus", "leakwatch.rules.yml")
    rule_files = [os.path.join(etc, p) for p in pcfg.get("rule_files", [])]
    if not any(os.path.exists(p) and open(p).read() == open(rules_src).read() for p in rule_files):
        fail("prometheus: deploy/prometheus/leakwatch.rules.yml is not among its rule files")
    jobs = {j["job_name"]: j for j in pcfg["scrape_configs"]}
    lw_job = jobs.get("leakwatch")
    targets = [t for sc in (lw_job or {}).get("static_configs", []) for t in sc["targets"]]
    if targets != ["leakwatch:9702"]:
        fail("prometheus: job leakwatch scrapes %s, want the leakwatch service on 9702" % targets)
    am = [t for a in pcfg.get("alerting", {}).get("alertmanagers", [])
          for sc in a.get("static_configs", []) for t in sc["targets"]]
    if am != ["alertmanager:9093"]:
        fail("prometheus: sends alerts to %s, want alertmanager:9093" % am)

    # Alertmanager
    amc = services["alertmanager"]
    src, _ = mounted(amc, "/etc/alertmanager/alertmanager.yml")
    if not src:
        fail("alertmanager: no config mounted")
    else:
        r = subprocess.run(["amtool", "check-config", src], capture_output=True, text=True)
        if r.returncode != 0:
            fail("alertmanager: amtool check-config: %s" % (r.stdout + r.stderr))

    # Grafana
    gf = services["grafana"]
    prov, _ = mounted(gf, "/etc/grafana/provisioning")
    if not prov:
        fail("grafana: provisioning not mounted")
        return
    ds_files = [os.path.join(prov, "datasources", f) for f in os.listdir(os.path.join(prov, "datasources"))]
    urls = [d["url"] for p in ds_files for d in yaml.safe_load(open(p))["datasources"]
            if d["type"] == "prometheus" and d.get("isDefault")]
    if urls != ["http://prometheus:9090"]:
        fail("grafana: default Prometheus datasource %s, want http://prometheus:9090" % urls)
    dash_files = [os.path.join(prov, "dashboards", f) for f in os.listdir(os.path.join(prov, "dashboards"))]
    paths = [p["options"]["path"] for f in dash_files for p in yaml.safe_load(open(f))["providers"]]
    for path in paths:
        src, _ = mounted(gf, path)
        if src != os.path.join(repo, "grafana-dashboards"):
            fail("grafana: provider path %s is not where grafana-dashboards/ is mounted" % path)
        elif not os.path.exists(os.path.join(src, "leakwatch.json")):
            fail("grafana: %s has no leakwatch.json" % src)
    if not paths:
        fail("grafana: no dashboard provider")
    home = gf.get("environment", {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home and not any(home.startswith(p + "/") and os.path.exists(
            os.path.join(repo, "grafana-dashboards", home[len(p) + 1:])) for p in paths):
        fail("grafana: home dashboard %s is not a provisioned file" % home)


if __name__ == "__main__":
    main(*sys.argv[1:])
    if failures:
        print("%d failure(s)" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("docker-compose stack: every check passed")
