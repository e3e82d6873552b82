"""Every alert in a rule file is tested both firing and not firing.

    rules_coverage.py RULES.yml TESTS.yml

promtool checks that each listed expectation holds; this checks that the
expectations cover each alert both ways, so a new alert cannot ship
untested. Exits 1 naming what is missing.
"""
import sys

import yaml


def main(rules_path, tests_path):
    with open(rules_path) as f:
        rules = yaml.safe_load(f)
    alerts = [r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
    with open(tests_path) as f:
        tests = yaml.safe_load(f)
    fires, silent = set(), set()
    for case in tests["tests"]:
        for t in case.get("alert_rule_test", []):
            (fires if t.get("exp_alerts") else silent).add(t["alertname"])
    missing = []
    for a in alerts:
        if a not in fires:
            missing.append("%s: no test where it fires" % a)
        if a not in silent:
            missing.append("%s: no test where it does not fire" % a)
    unknown = (fires | silent) - set(alerts)
    for a in sorted(unknown):
        missing.append("%s: tested, but not in %s" % (a, rules_path))
    for m in missing:
        print("FAIL: %s: %s" % (tests_path, m), file=sys.stderr)
    if missing:
        return 1
    print("%d alerts, each tested firing and not firing: %s" % (len(alerts), ", ".join(alerts)))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
