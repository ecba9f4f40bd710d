#!/usr/bin/python3
"""Turns wrk's text summary into one JSON line like loadgen's (scenario tokens)."""
import json
import re
import sys


def main(path):
    text = open(path, encoding="utf-8").read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+),", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    lat = {}
    for p in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, text, re.M)
        if m:
            lat[p] = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    if not rps or not total:
        sys.exit("wrk2json: no summary in %s" % path)
    print(json.dumps({
        "scenario": "tokens", "server": "livegate-w2", "mode": "wrk",
        "requests": int(total.group(1)),
        "requests_per_s": float(rps.group(1)),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
        "lat_p50_ms": lat.get("50", -1), "lat_p99_ms": lat.get("99", -1),
        "pinned": 0, "round": 1,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
