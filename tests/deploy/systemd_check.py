"""What systemd-analyze does not check in deploy/systemd/leakwatch.service.

    systemd_check.py LEAKWATCH_BINARY REPO_ROOT

- ExecStart runs the documented install path with contract flags only
  (contract_flags.py), plus $ARGS from the EnvironmentFile; the binary
  accepts them with --config.check, reading the repository's
  deploy/leakwatch.yml where the unit names /etc/leakwatch/leakwatch.yml
  (the unit's header installs it there);
- reload is SIGHUP to the main process, and a crash restarts it;
- it runs unprivileged (DynamicUser or a User other than root) in the
  docker group, under the sandbox settings the unit promises, and nothing
  in the sandbox hides what leakwatch reads: /sys/fs/cgroup, /proc (its
  own entry, /proc/stat, /proc/meminfo, the containers' processes) and
  the Docker socket in /run.

Exits 1 after printing every failure.
"""
import os
import shlex
import sys

import contract_flags

INSTALLED_BINARY = "/usr/local/bin/leakwatch"
INSTALLED_CONFIG = "/etc/leakwatch/leakwatch.yml"
ENVIRONMENT_FILE = "-/etc/default/leakwatch"
ARGS_PLACEHOLDERS = ("$ARGS", "${ARGS}")
READ_PATHS = ("/sys/fs/cgroup", "/proc", "/run/docker.sock", "/var/run/docker.sock")

errors = []


def fail(msg):
    errors.append(msg)


def parse_unit(path):
    """{section: {key: [values in order]}}; continuation lines joined."""
    sections, section, pending = {}, None, ""
    with open(path) as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            stripped = line.strip()
            if not stripped or stripped[0] in "#;":
                continue
            if stripped.startswith("[") and stripped.endswith("]"):
                section = sections.setdefault(stripped[1:-1], {})
                continue
            key, _, value = stripped.partition("=")
            section.setdefault(key.strip(), []).append(value.strip())
    return sections


def boolean(value):
    return value.lower() in ("1", "yes", "y", "true", "t", "on")


def covers(path, target):
    path = path.lstrip("-+").rstrip("/") or "/"
    return target == path or target.startswith(path.rstrip("/") + "/")


def main(binary, root):
    unit_path = os.path.join(root, "deploy", "systemd", "leakwatch.service")
    service = parse_unit(unit_path).get("Service", {})

    def one(key):
        values = service.get(key, [])
        return values[-1] if values else None

    starts = service.get("ExecStart", [])
    if len(starts) != 1:
        fail("wants one ExecStart=, has %d" % len(starts))
    else:
        words = shlex.split(starts[0])
        if words[0] != INSTALLED_BINARY:
            fail("ExecStart runs %s, not %s (README.md and tests/deploy/systemd.sh name it)"
                 % (words[0], INSTALLED_BINARY))
        args = [w for w in words[1:] if w not in ARGS_PLACEHOLDERS]
        if len(args) != len(words) - 1 and one("EnvironmentFile") != ENVIRONMENT_FILE:
            fail("ExecStart takes $ARGS, but EnvironmentFile is not %s" % ENVIRONMENT_FILE)
        errors.extend(contract_flags.check_args(args, binary, "ExecStart"))
        in_repo = [a.replace("=" + INSTALLED_CONFIG, "=" + os.path.join(root, "deploy", "leakwatch.yml"))
                   for a in args]
        errors.extend(contract_flags.config_check(in_repo, binary, "ExecStart"))

    reload_words = shlex.split(one("ExecReload") or "")
    if (len(reload_words) != 3 or os.path.basename(reload_words[0]) != "kill"
            or reload_words[1:] != ["-HUP", "$MAINPID"]):
        fail("ExecReload is %r, want kill -HUP $MAINPID (leakwatch re-reads its files on SIGHUP)"
             % one("ExecReload"))
    if one("Restart") not in ("on-failure", "always"):
        fail("Restart is %r, want on-failure" % one("Restart"))

    if not boolean(one("DynamicUser") or "no") and one("User") in (None, "root", "0"):
        fail("runs as root: set DynamicUser=yes or a User")
    groups = " ".join(service.get("SupplementaryGroups", [])).split()
    if "docker" not in groups:
        fail("SupplementaryGroups lacks docker: the Docker socket is 0660 root:docker")

    want = {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "ProtectControlGroups": "yes",
        "ProtectKernelTunables": "yes",
    }
    for key, value in want.items():
        got = one(key)
        same = got is not None and (got == value or (value == "yes" and boolean(got)))
        if not same:
            fail("%s is %r, want %s" % (key, got, value))
    families = set(" ".join(service.get("RestrictAddressFamilies", [])).split())
    if families != {"AF_UNIX", "AF_INET", "AF_INET6"}:
        fail("RestrictAddressFamilies is %s, want AF_UNIX AF_INET AF_INET6 (the Docker socket, "
             "and serving over IPv4 and IPv6)" % (" ".join(sorted(families)) or "unset"))
    if one("ProcSubset") == "pid":
        fail("ProcSubset=pid hides /proc/meminfo and /proc/stat, which leakwatch reads")
    if one("ProtectProc") not in (None, "default"):
        fail("ProtectProc=%s hides the containers' processes, whose /proc/<pid>/status say "
             "which process leaks" % one("ProtectProc"))
    if boolean(one("PrivateNetwork") or "no"):
        fail("PrivateNetwork: Prometheus could not reach the port")
    for key in ("InaccessiblePaths", "TemporaryFileSystem"):
        for value in " ".join(service.get(key, [])).split():
            for target in READ_PATHS:
                if covers(value.split(":")[0], target):
                    fail("%s=%s hides %s, which leakwatch reads" % (key, value, target))

    for e in errors:
        print("FAIL: %s: %s" % (unit_path, e), file=sys.stderr)
    if errors:
        return 1
    print("%s: ExecStart %s; reload, user and sandbox as documented" % (unit_path, starts[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
