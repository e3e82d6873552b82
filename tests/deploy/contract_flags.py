"""The flags a deployment asset may pass to leakwatch. Imported by the checks.

A deployment (the DaemonSet's args, the systemd unit's ExecStart) may use
only flags that are both

- in the fixed interface, CONTRACT_FLAGS below, copied from the flag table
  of the project's CONTRACTS.md (which a clone of this repository does not
  contain), so a flag added later is not relied on by accident; and
- offered by the built binary, parsed from `leakwatch --help`, so a
  contract flag the daemon lost is caught too.

Each must be written --name=value: one word per flag leaves no doubt which
word is whose value. Then the binary itself runs with those arguments and
--config.check, which parses every value as the daemon would.
"""
import re
import subprocess

CONTRACT_FLAGS = frozenset({
    "--web.listen-address",
    "--web.telemetry-path",
    "--web.config.file",
    "--config.file",
    "--cgroup.root",
    "--path.procfs",
    "--docker.host",
    "--sample.interval",
    "--leak.windows",
    "--log.level",
    "--log.format",
})

# In the contract, but a deployed daemon must not get it.
NOT_FOR_DAEMONS = {"--config.check": "validates and exits: the daemon would never run"}


def help_flags(binary):
    """The long flags `leakwatch --help` lists."""
    out = subprocess.run([binary, "--help"], check=True, capture_output=True, text=True).stdout
    flags = set(re.findall(r"^\s+(?:-\w,)?(--[a-z][a-z0-9.-]*)", out, re.MULTILINE))
    if "--web.listen-address" not in flags:
        raise RuntimeError("%s --help: no --web.listen-address in:\n%s" % (binary, out))
    return flags


def check_args(args, binary, where):
    """Errors (strings) for ARGS; an empty list when every one is fine."""
    offered = help_flags(binary)
    errors, seen = [], set()
    for arg in args:
        m = re.fullmatch(r"(--[a-z][a-z0-9.-]*)=(.*)", arg, re.DOTALL)
        if not m:
            errors.append("%s: %r is not written --flag=value" % (where, arg))
            continue
        name = m.group(1)
        if name in NOT_FOR_DAEMONS:
            errors.append("%s: %s %s" % (where, name, NOT_FOR_DAEMONS[name]))
        elif name not in CONTRACT_FLAGS:
            errors.append("%s: %s is not one of the contract's flags" % (where, name))
        if name not in offered:
            errors.append("%s: %s is not a flag of %s (see its --help)" % (where, name, binary))
        if name in seen:
            errors.append("%s: %s given twice" % (where, name))
        seen.add(name)
    return errors


def config_check(args, binary, where):
    """Errors from running BINARY ARGS --config.check (empty when it exits 0)."""
    p = subprocess.run([binary, *args, "--config.check"], capture_output=True, text=True)
    if p.returncode != 0:
        return ["%s: leakwatch %s --config.check exits %d: %s"
                % (where, " ".join(args), p.returncode, (p.stderr + p.stdout).strip())]
    return []


def flag_values(args):
    """{--name: value} of --name=value arguments."""
    return dict(a.split("=", 1) for a in args if a.startswith("--") and "=" in a)
