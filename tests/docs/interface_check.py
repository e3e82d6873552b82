#!/usr/bin/python3
"""Holds docs/interface.md to what the code does.

    interface_check.py LEAKWATCH_BINARY [REPO_ROOT]

The interface is read from places that cannot drift from the code:

- flags, their defaults and environment variables from `leakwatch --help`
  and `leakwatch analyze --help`;
- every setting, the file-only ones included, from the "Loaded
  configuration" line the daemon logs at start;
- which settings the YAML file takes: each is offered to --config.check in
  a file of its own;
- which settings apply on SIGHUP: the daemon runs on a file that sets every
  one, the file changes every one, and the reload's log lines say which
  took effect and which wait for a restart;
- metric families, their types and labels from tests/golden/*.prom and the
  running daemon's /metrics;
- the JSON API's paths from the endpoint table of docs/api.md;
- the keys of `leakwatch analyze`'s JSON output and of its --explain lines,
  from a run on a small CSV.

Each must be in docs/interface.md with the same default, variable, YAML key,
reload behaviour, type and labels; and every flag, variable, metric and API
path the page names must exist, except in its "Not yet implemented"
section, where nothing may exist yet. Every problem is printed; the exit
status is 1 when there is any.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PLANNED_HEADING = "Not yet implemented"

# Two valid values for each setting the file takes: the daemon starts on
# the first, a SIGHUP brings the second. A new file setting needs a pair
# here, so that its reload behaviour is checked like the others'.
# {fixtures} and {tmp} are filled in at run time.
RELOAD_VALUES = {
    "web.listen-address": ("127.0.0.1:0", "127.0.0.1:1"),
    "web.telemetry-path": ("/metrics", "/metrics-moved"),
    "web.config.file": ("{tmp}/web-a.yml", "{tmp}/web-b.yml"),
    "cgroup.root": ("{fixtures}/cgroup/v2", "{fixtures}/cgroup/v1"),
    "path.procfs": ("/proc", "{tmp}"),
    # Sockets that do not exist: Docker is configured (so the image and
    # label selectors are allowed) and simply unavailable.
    "docker.host": ("unix://{tmp}/docker-a.sock", "unix://{tmp}/docker-b.sock"),
    "sample.interval": ("1s", "2s"),
    "leak.windows": (["1m", "5m"], ["2m", "10m"]),
    "leak.healthy-growth": ("0.015", "0.02"),
    "leak.min-growth": ("0.0175", "0.03"),
    "leak.persistence": ("3", "4"),
    "leak.process-interval": ("30s", "10s"),
    # debug, not warn: the reload's own info lines must still be logged.
    "log.level": ("info", "debug"),
    "log.format": ("logfmt", "json"),
    "containers.include": ([], ["a.*"]),
    "containers.exclude": ([], ["b.*"]),
    "containers.labels": ([], ["com.example.team"]),
    "containers.include-images": ([], ["nginx:.*"]),
    "containers.exclude-images": ([], [".*:debug"]),
    "containers.label-selector": ([], ["!com.example.skip"]),
}

# Labels every per-container series may carry; the page calls them
# "container" in its labels column.
IDENTITY_LABELS = {"id", "name", "image", "compose_project", "compose_service"}

# Commands of other tools quoted on the page; their flags are not ours.
FOREIGN_COMMAND = re.compile(r"`(?:CC=\S+ CXX=\S+ )?(?:cmake|curl|docker|htpasswd)\b[^`]*`")

problems = []

# The daemon listens on 127.0.0.1; a proxy from the environment must not
# stand in between.
http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def problem(message):
    problems.append(message)


# ---------------------------------------------------------------- the code


def clean_env():
    """The environment without LEAKWATCH_* and DOCKER_HOST, which would
    change defaults and values."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("LEAKWATCH_") and k != "DOCKER_HOST"}


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, env=clean_env(),
                          timeout=30, **kwargs)


def parse_help(text):
    """{flag: {"default": str or None, "env": str or None}} of a CLI11 help."""
    options = {}
    current = None
    start = re.compile(r"^  (?:-\w,)?(--[a-z][\w.-]*)(?: [A-Z]+)?(?:=(\S+))?(?:\s+(.*))?$")
    for line in text.splitlines():
        m = start.match(line)
        if m:
            current = m.group(1)
            options[current] = {"default": m.group(2), "help": m.group(3) or ""}
        elif current and line.startswith("   "):
            options[current]["help"] += " " + line.strip()
        else:
            current = None
    for option in options.values():
        env = re.search(r"\[env (LEAKWATCH_\w+)\]", option["help"])
        option["env"] = env.group(1) if env else None
    return options


def env_name(flag):
    return "LEAKWATCH_" + re.sub(r"[.-]", "_", flag[2:]).upper()


def yaml_key(setting):
    return setting.replace("-", "_")


def logfmt(line):
    """{key: value} of a logfmt line."""
    fields = {}
    for key, value in re.findall(r'(\S+?)=("(?:[^"\\]|\\.)*"|\S*)', line):
        fields[key] = json.loads(value) if value.startswith('"') else value
    return fields


def log_fields(line):
    """{key: value} of a log line in either format."""
    line = line.strip()
    if line.startswith("{"):
        try:
            return {k: str(v) for k, v in json.loads(line).items()}
        except ValueError:
            return {}
    return logfmt(line)


def settings_from_startup(binary):
    """Every setting the daemon describes at start, from a run that stops
    right after (no cgroup hierarchy at the root given)."""
    p = run([binary, "--cgroup.root", "/nonexistent-leakwatch-root", "--docker.host", "none"])
    for line in p.stderr.splitlines():
        fields = log_fields(line)
        if fields.get("msg") == "Loaded configuration":
            return [k for k in fields if k not in ("ts", "level", "msg")]
    raise RuntimeError("no \"Loaded configuration\" line from %s:\n%s" % (binary, p.stderr))


def yaml_document(values):
    """A YAML file setting each {setting: value} (values as in RELOAD_VALUES)."""
    tree = {}
    for setting, value in values.items():
        node = tree
        parts = yaml_key(setting).split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    # JSON is YAML, and leaves no doubt about quoting.
    return json.dumps(tree, indent=1)


def file_settable(binary, settings, tmp, fill):
    """The settings a YAML file may set: each alone in a file, through
    --config.check."""
    settable = set()
    for setting in settings:
        value = fill(RELOAD_VALUES[setting][0]) if setting in RELOAD_VALUES else "x"
        path = os.path.join(tmp, "probe.yml")
        with open(path, "w") as f:
            f.write(yaml_document({setting: value}))
        p = run([binary, "--config.file", path, "--config.check"])
        if p.returncode == 0:
            settable.add(setting)
        elif "can only be set by the flag" not in p.stderr:
            problem("%s in a file (%r) fails --config.check for another reason: %s"
                    % (setting, value, p.stderr.strip()))
    return settable


def wait_for(daemon, log_path, predicate, what, deadline):
    while time.time() < deadline and daemon.poll() is None:
        with open(log_path) as f:
            for line in f:
                fields = log_fields(line)
                if predicate(fields):
                    return fields
        time.sleep(0.05)
    with open(log_path) as f:
        raise RuntimeError("the daemon did not log %s (%s):\n%s" % (
            what, "exited %d" % daemon.returncode if daemon.returncode is not None
            else "timed out", f.read()))


def get_status(url):
    try:
        with http.open(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def run_daemon(binary, settable, tmp, fill, paths):
    """Starts the daemon on a file setting every file setting, scrapes it,
    asks it for each of PATHS, changes every value and reloads. Returns
    (exposition, restart-only settings, settings changed live, {path:
    status})."""
    missing = sorted(settable - RELOAD_VALUES.keys())
    if missing:
        problem("no pair of values in RELOAD_VALUES (%s) for the file setting(s) %s, so their "
                "reload behaviour is not checked" % (__file__, ", ".join(missing)))
    keys = sorted(settable & RELOAD_VALUES.keys())
    config = os.path.join(tmp, "leakwatch.yml")
    with open(config, "w") as f:
        f.write(yaml_document({k: fill(RELOAD_VALUES[k][0]) for k in keys}))
    log_path = os.path.join(tmp, "daemon.log")
    log = open(log_path, "w")
    daemon = subprocess.Popen([binary, "--config.file", config], stdout=log, stderr=log,
                              env=clean_env())
    try:
        deadline = time.time() + 20
        listening = wait_for(daemon, log_path, lambda f: f.get("msg") == "Listening on",
                             "\"Listening on\"", deadline)
        base = "http://" + listening["address"]
        telemetry = fill(RELOAD_VALUES["web.telemetry-path"][0])
        with http.open(base + telemetry, timeout=10) as r:
            exposition = r.read().decode()
        statuses = {path: get_status(base + path) for path in paths}
        with open(config, "w") as f:
            f.write(yaml_document({k: fill(RELOAD_VALUES[k][1]) for k in keys}))
        daemon.send_signal(signal.SIGHUP)
        done = wait_for(
            daemon, log_path,
            lambda f: f.get("msg", "").startswith(("Completed loading", "Error reloading")),
            "the end of the reload", deadline)
        if "err" in done:
            problem("the reload with every setting changed failed: %s" % done["err"])
        restart = set()
        with open(log_path) as f:
            for line in f:
                fields = log_fields(line)
                if fields.get("msg", "").startswith("Some settings change only at restart"):
                    restart = set(filter(None, fields["settings"].split(",")))
        changed = set(filter(None, done.get("changed", "").split(",")))
        return exposition, restart, changed, statuses
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()


def metric_families(texts):
    """{name: {"type": str, "labels": set}} of expositions, (name, source)
    pairs."""
    families = {}
    for text, source in texts:
        for line in text.splitlines():
            m = re.match(r"# TYPE (\S+) (\S+)", line)
            if m:
                family = families.setdefault(m.group(1), {"type": m.group(2), "labels": set()})
                if family["type"] != m.group(2):
                    problem("%s: %s is a %s here and a %s elsewhere"
                            % (source, m.group(1), m.group(2), family["type"]))
                continue
            m = re.match(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? ", line)
            if m and m.group(1) in families:
                families[m.group(1)]["labels"] |= set(
                    re.findall(r'(\w+)="(?:[^"\\]|\\.)*"', m.group(2) or ""))
    return families


def api_paths(api_md):
    """The endpoint paths of docs/api.md's endpoint table."""
    paths = set()
    for m in re.finditer(r"^\| `(?:GET|HEAD) (/api/[^`?\s]+)", api_md, re.MULTILINE):
        paths.add(m.group(1))
    return paths


def analyze_keys(binary, tmp):
    """The keys of analyze's JSON output, and of its --explain lines."""
    csv = os.path.join(tmp, "trace.csv")
    with open(csv, "w") as f:
        # Two minutes at 5 s: a 15m window's bucket (1/32 of it) closes
        # several times, so --explain has evaluations to print.
        f.write("time,working_set\n" + "".join("%d,%d\n" % (5 * i, 1000 + i) for i in range(24)))
    p = run([binary, "analyze", "--format", "json", "--explain", csv])
    if p.returncode != 0 or not p.stdout.strip() or not p.stderr.strip():
        raise RuntimeError("leakwatch analyze --explain on %s exits %d: %s"
                           % (csv, p.returncode, p.stderr))
    return (list(json.loads(p.stdout.splitlines()[0]).keys()),
            set(json.loads(p.stderr.splitlines()[0]).keys()))


# ---------------------------------------------------------------- the page


def split_planned(page):
    """(the page without its "Not yet implemented" section, that section)."""
    m = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(PLANNED_HEADING), page,
                  re.MULTILINE | re.DOTALL)
    if not m:
        return page, ""
    return page[:m.start()] + page[m.end():], m.group(1)


def tables(page):
    """Every Markdown table: (lower-cased headers, rows as {header: cell})."""
    found = []
    lines = page.splitlines()
    for i in range(len(lines) - 1):
        if lines[i].startswith("|") and re.match(r"^\|(\s*:?-+:?\s*\|)+\s*$", lines[i + 1]):
            headers = [c.strip().lower() for c in lines[i].strip().strip("|").split("|")]
            rows = []
            for line in lines[i + 2:]:
                if not line.startswith("|"):
                    break
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                rows.append(dict(zip(headers, cells)))
            found.append((headers, rows))
    return found


def table_rows(page, first, second):
    rows = []
    for headers, body in tables(page):
        if headers[:2] == [first, second]:
            rows.extend(body)
    return rows


def code(cell):
    return re.findall(r"`([^`]+)`", cell)


def first_code(cell):
    spans = code(cell)
    return spans[0] if spans else None


def flags_named(text):
    text = FOREIGN_COMMAND.sub("", text)
    return set(re.findall(r"(?<![\w-])(--[a-z][\w.-]*[a-z0-9])", text))


def metrics_named(text):
    """Metric names in TEXT; a name directly followed by { is a series
    (with labels), returned apart."""
    families, series = set(), set()
    for m in re.finditer(r"(?<![.\w])((?:leakwatch|process)_[a-z0-9_]*[a-z0-9])\b(\{)?", text):
        (series if m.group(2) else families).add(m.group(1))
    return families, series


# ---------------------------------------------------------------- checks


def check_settings(page, help_options, settings, settable, restart, changed):
    rows = {first_code(r.get("flag", "")): r
            for r in table_rows(page, "flag", "environment variable")}
    file_rows = {first_code(r.get("yaml key", "")): r for r in table_rows(page, "yaml key", "on sighup")}
    flag_settings = {f for f, o in help_options.items() if o["env"]}
    for flag in sorted(flag_settings):
        option = help_options[flag]
        setting = flag[2:]
        if option["env"] != env_name(flag):
            problem("--help names %s's variable %s, not %s as the page's rule says"
                    % (flag, option["env"], env_name(flag)))
        row = rows.get(flag)
        if row is None:
            problem("%s (leakwatch --help) has no row in the settings table" % flag)
            continue
        if code(row.get("environment variable", "")) != [option["env"]]:
            problem("%s: the page's variable is %r, --help says %s"
                    % (flag, row.get("environment variable"), option["env"]))
        want_yaml = [yaml_key(setting)] if setting in settable else []
        if code(row.get("yaml key", "")) != want_yaml:
            problem("%s: the page's YAML key is %r; the file %s" % (
                flag, row.get("yaml key"),
                "takes it as %s" % want_yaml[0] if want_yaml else "does not take it"))
        default = row.get("default", "")
        if option["default"] is not None:
            if option["default"] not in code(default):
                problem("%s: the page's default %r does not show --help's `%s`"
                        % (flag, default, option["default"]))
        elif default not in ("none", "–"):
            problem("%s: the page's default is %r; --help shows none" % (flag, default))
        check_reload(flag, setting, row.get("on sighup", ""), settable, restart, changed)
    for flag in sorted(set(rows) - flag_settings):
        problem("the settings table documents %s, which leakwatch --help does not list "
                "as a setting" % flag)

    file_only = [s for s in settings if "--" + s not in help_options]
    for setting in file_only:
        row = file_rows.get(yaml_key(setting))
        if row is None:
            problem("the file setting %s (YAML key %s) has no row in the file-only table"
                    % (setting, yaml_key(setting)))
            continue
        check_reload(yaml_key(setting), setting, row.get("on sighup", ""), settable, restart,
                     changed)
    for key in sorted(set(file_rows) - {yaml_key(s) for s in file_only}):
        problem("the file-only table documents %s, which is not a file-only setting" % key)


def check_reload(name, setting, cell, settable, restart, changed):
    if setting not in settable:
        want = "–"
    elif setting in restart:
        want = "restart"
    elif setting in changed:
        want = "live"
    elif setting in RELOAD_VALUES:
        problem("%s: the reload changed it in the file, yet the daemon neither applied it nor "
                "named it restart-only" % name)
        return
    else:
        return  # not exercised (no RELOAD_VALUES); reported already
    if cell != want:
        problem("%s: the page says %r on SIGHUP; the daemon's reload says %s" % (name, cell, want))


def check_metrics(page, families):
    rows = {}
    for row in table_rows(page, "metric", "type"):
        name = first_code(row.get("metric", ""))
        if name:
            rows[name] = row
    for name, family in sorted(families.items()):
        row = rows.get(name)
        if row is None:
            problem("the metric %s (%s) has no row in the page's metric tables"
                    % (name, family["type"]))
            continue
        if row.get("type") != family["type"]:
            problem("%s: the page says %r, the exposition says %s"
                    % (name, row.get("type"), family["type"]))
        labels_cell = row.get("labels", "")
        seen = family["labels"]
        own = {l for l in seen if l not in IDENTITY_LABELS and not l.startswith("container_label_")}
        documented = set(code(labels_cell))
        if "id" in seen and "container" not in labels_cell:
            problem("%s: the page's labels (%r) do not say it is per container" % (name, labels_cell))
        for label in sorted(own - documented):
            problem("%s: the page's labels (%r) lack `%s`" % (name, labels_cell, label))
        if seen or documented:
            for label in sorted(documented - own):
                problem("%s: the page's labels name `%s`, which no exposition has"
                        % (name, label))
    for name in sorted(set(rows) - families.keys()):
        problem("the page's metric tables list %s, which neither tests/golden/*.prom nor "
                "/metrics has" % name)


def check_names(main, planned, help_options, analyze_options, families, endpoints):
    ours = set(help_options) | set(analyze_options)
    for flag in sorted(flags_named(main) - ours):
        problem("the page names %s, which neither leakwatch --help nor leakwatch analyze "
                "--help lists" % flag)
    for flag in sorted(help_options):
        if flag not in flags_named(main):
            problem("%s (leakwatch --help) is not on the page" % flag)
    for flag in sorted(analyze_options):
        if flag not in flags_named(main):
            problem("%s (leakwatch analyze --help) is not on the page" % flag)

    named, series = metrics_named(main)
    for name in sorted((named | series) - families.keys()):
        problem("the page names the metric %s, which neither tests/golden/*.prom nor "
                "/metrics has" % name)

    envs = {o["env"] for o in help_options.values() if o["env"]}
    for env in sorted(set(re.findall(r"(?<!-D)\b(LEAKWATCH_\w+)", main)) - envs):
        problem("the page names the variable %s, which leakwatch --help does not" % env)

    named_paths = set(re.findall(r"(?<![\w:.])(/api/v1/[\w{}/-]+)", main))
    for path in sorted(endpoints - named_paths):
        problem("docs/api.md's endpoint %s is not on the page" % path)
    for path in sorted(named_paths - endpoints):
        problem("the page names the API path %s, which docs/api.md's endpoint table does not"
                % path)

    for flag in sorted(flags_named(planned) & ours):
        problem("%s exists now: move it from \"%s\" into the page" % (flag, PLANNED_HEADING))
    planned_families, _ = metrics_named(planned)
    for name in sorted(planned_families & families.keys()):
        problem("%s exists now: move it from \"%s\" into the page" % (name, PLANNED_HEADING))


def check_analyze(page, analyze_options, keys, explain_keys):
    rows = {first_code(r.get("flag", "")): r for r in table_rows(page, "flag", "default")}
    for flag, option in sorted(analyze_options.items()):
        row = rows.get(flag)
        if row is None:
            problem("%s (leakwatch analyze --help) has no row in the analyze table" % flag)
        elif option["default"] is not None and option["default"] not in code(row["default"]):
            problem("analyze %s: the page's default %r does not show --help's `%s`"
                    % (flag, row["default"], option["default"]))
    for flag in sorted(set(rows) - set(analyze_options)):
        problem("the analyze table documents %s, which leakwatch analyze --help does not list"
                % flag)
    if "--explain" in rows:
        documented = set(code(rows["--explain"].get("meaning", "")))
        if documented != explain_keys:
            problem("analyze --explain prints the keys %s; the page's --explain row lists %s"
                    % (sorted(explain_keys), sorted(documented)))
    example = re.search(r'^\{"series".*\}$', page, re.MULTILINE)
    if not example:
        problem('the page has no example line of analyze\'s JSON output ({"series": ...})')
        return
    documented = list(json.loads(example.group(0)).keys())
    if documented != keys:
        problem("analyze's JSON output has the keys %s; the page's example has %s"
                % (keys, documented))


def http_paths(page):
    """The paths of the page's HTTP table that name no container."""
    paths = []
    for row in table_rows(page, "path", "methods"):
        path = first_code(row.get("path", ""))
        if path and "{" not in path:
            paths.append(path)
    if not paths:
        problem("the page has no HTTP table (| path | methods | ...)")
    return paths


def check_paths(statuses):
    for path, status in sorted(statuses.items()):
        if status == 404:
            problem("the page's HTTP table lists %s; the daemon answers 404" % path)


def main():
    binary = os.path.abspath(sys.argv[1])
    root = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "..")
    page_path = os.path.join(root, "docs", "interface.md")
    with open(page_path) as f:
        page = f.read()
    with open(os.path.join(root, "docs", "api.md")) as f:
        endpoints = api_paths(f.read())
    main_part, planned = split_planned(page)

    help_options = parse_help(run([binary, "--help"], check=True).stdout)
    analyze_options = parse_help(run([binary, "analyze", "--help"], check=True).stdout)
    if "--web.listen-address" not in help_options or "--windows" not in analyze_options:
        raise RuntimeError("cannot read the flags of %s --help" % binary)
    settings = settings_from_startup(binary)
    settings += [o[2:] for o, v in help_options.items() if v["env"] and o[2:] not in settings]

    goldens = []
    golden_dir = os.path.join(root, "tests", "golden")
    for name in sorted(os.listdir(golden_dir)):
        if name.endswith(".prom"):
            with open(os.path.join(golden_dir, name)) as f:
                goldens.append((f.read(), "tests/golden/" + name))

    with tempfile.TemporaryDirectory() as tmp:
        fixtures = os.path.join(os.path.abspath(root), "tests", "fixtures")

        def fill(value):
            if isinstance(value, list):
                return [fill(v) for v in value]
            return value.format(tmp=tmp, fixtures=fixtures)

        for name in ("web-a.yml", "web-b.yml"):  # RELOAD_VALUES' web configs
            open(os.path.join(tmp, name), "w").close()
        settable = file_settable(binary, settings, tmp, fill)
        exposition, restart, changed, statuses = run_daemon(binary, settable, tmp, fill,
                                                            http_paths(main_part))
        keys, explain_keys = analyze_keys(binary, tmp)
        families = metric_families(goldens + [(exposition, "/metrics")])
        check_settings(main_part, help_options, settings, settable, restart, changed)
        check_metrics(main_part, families)
        check_names(main_part, planned, help_options, analyze_options, families, endpoints)
        check_analyze(main_part, analyze_options, keys, explain_keys)
        check_paths(statuses)

    if problems:
        for p in problems:
            print("docs/interface.md: " + p)
        print("docs_interface: %d problem(s); docs/interface.md and the code disagree"
              % len(problems))
        return 1
    print("docs/interface.md agrees with %s: %d flags, %d analyze flags, %d settings, "
          "%d metric families, %d API paths" % (binary, len(help_options), len(analyze_options),
                                                len(settings), len(families), len(endpoints)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
