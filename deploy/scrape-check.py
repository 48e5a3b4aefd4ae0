#!/usr/bin/env python3
"""Asks a running Prometheus, which scrapes a running graphhook, for every series
the alert rules select (each selector with its equality and regex matchers), and
fails when one is missing: a metric or label renamed in code without the rules
following is caught here, not at 2 a.m.

    python3 deploy/scrape-check.py http://127.0.0.1:9090 deploy/prometheus/alerts.yml

Selectors whose series only exist after traffic this run does not make are named
with --needs-traffic NAME=WHY; they are listed as not checked, never passed.
"""
import argparse
import json
import re
import sys
import time
import urllib.parse
import urllib.request

SELECTOR = re.compile(r'\b(up|graphhook_[a-z0-9_]+)(\{[^}]*\})?')


def selectors(rules_text):
    """Every `name{matchers}` in the rules' `expr:` lines, in order, once."""
    found = []
    for line in rules_text.splitlines():
        line = line.strip()
        if not line.startswith("expr:"):
            continue
        for name, matchers in SELECTOR.findall(line):
            selector = name + (matchers or "")
            if selector not in found:
                found.append(selector)
    return found


def series(prometheus, selector):
    query = urllib.parse.urlencode({"match[]": selector, "start": time.time() - 600})
    with urllib.request.urlopen(f"{prometheus}/api/v1/series?{query}", timeout=10) as answer:
        body = json.load(answer)
    if body.get("status") != "success":
        raise RuntimeError(f"{selector}: {body}")
    return body["data"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("prometheus")
    parser.add_argument("rules")
    parser.add_argument("--needs-traffic", action="append", default=[])
    parser.add_argument("--wait", type=float, default=60)
    args = parser.parse_args()
    untested = dict(item.split("=", 1) for item in args.needs_traffic)
    wanted = selectors(open(args.rules, encoding="utf-8").read())
    deadline = time.time() + args.wait
    missing = []
    checked = 0
    for selector in wanted:
        name = selector.split("{")[0]
        if name in untested:
            print(f"not checked  {selector}  ({untested[name]})")
            continue
        checked += 1
        while True:
            found = series(args.prometheus, selector)
            if found or time.time() > deadline:
                break
            time.sleep(1)
        if found:
            jobs = sorted({s.get("job", "") for s in found})
            print(f"ok           {selector}  ({len(found)} series, job {', '.join(jobs)})")
        else:
            print(f"MISSING      {selector}")
            missing.append(selector)
    if missing:
        print(f"{len(missing)} selectors of {args.rules} match no scraped series", file=sys.stderr)
        sys.exit(1)
    print(f"{checked} selectors checked against the scrape, all present")


if __name__ == "__main__":
    main()
