#!/usr/bin/env python3
"""Makes the reliability report (RELIABILITY.md) from the results that scripts/reliability's
areas wrote, one JSON file per area:

    {
      "area": "crash",                     # the area's name, as scripts/reliability takes it
      "title": "Crash points",             # the heading of its section
      "summary": "What it proves ...",     # a paragraph: what ran, against what, how it checks
      "mode": "short" | "long",
      "command": "scripts/reliability --long crash",
      "started": "2026-12-07T15:00:00Z",   # UTC
      "seconds": 123.4,                    # how long the area took
      "rows": [                            # one per case
        {"case": "file store, fsync", "ran": 1000, "unit": "SIGKILLs", "seed": 42,
         "found": 0, "ok": true, "details": "0 torn values, 0 lost acknowledged writes"}
      ],
      "notes": ["what it cannot show ..."],
      "ok": true
    }

    scripts/lib/reliability_report.py RESULTS-FOLDER AREA...
"""
import json
import pathlib
import sys

HEADER = """# Reliability

Trove's promise is that a store cannot be corrupted: a crash, a full disk, a server that dies
or a connection that breaks leaves every stored value whole, and every call either succeeds or
fails with a typed error. This file is what `scripts/reliability` ran to check that, and what it
found. It is written by the script from its own results (`scripts/reliability --long --write`),
never by hand; `scripts/reliability` alone runs the short mode, which CI runs.
"""


# What the suite is to cover and has no area for yet: listed in the report, so that it never
# reads as complete when it is not.
PLANNED = {
    "server-faults": "Redis, PostgreSQL and SeaweedFS killed and restarted under a mixed load of 16 tasks",
    "network-faults": "a loopback proxy that delays, drops, truncates and resets connections",
    "sanitizers": "the test suite under AddressSanitizer and ThreadSanitizer",
    "soak": "a mixed load on every store for minutes, with throughput and memory per minute",
}


def cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def section(result: dict) -> str:
    lines = [f"## {result['title']}", ""]
    if result.get("summary"):
        lines += [result["summary"], ""]
    status = "passed" if result.get("ok") else "FAILED"
    lines += [
        f"{status}: {result['mode']} mode, started {result['started']}, "
        f"{result['seconds']:.0f} s, `{result['command']}`",
        "",
        "| Case | Ran | Seed | Found | Result | Details |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in result.get("rows", []):
        ran = f"{row['ran']:,} {row.get('unit', '')}".strip()
        seed = row.get("seed", "")
        result_cell = "ok" if row.get("ok") else "**failed**"
        lines.append(f"| {cell(row['case'])} | {cell(ran)} | {cell(seed)} | {row.get('found', 0)} | "
                     f"{result_cell} | {cell(row.get('details', ''))} |")
    if result.get("notes"):
        lines.append("")
        lines += [f"- {note}" for note in result["notes"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    folder = pathlib.Path(sys.argv[1])
    parts = [HEADER]
    for area in sys.argv[2:]:
        path = folder / f"{area}.json"
        if not path.exists():
            parts.append(f"## {area}\n\nFAILED: the area wrote no results.\n")
            continue
        parts.append(section(json.loads(path.read_text())))
    missing = [f"- `{area}`: {what}" for area, what in PLANNED.items()
               if not pathlib.Path(f"scripts/lib/reliability/{area}.sh").exists()]
    if missing:
        parts.append("## Not covered yet\n\nThese areas have no script yet, so nothing above speaks for them:\n\n"
                     + "\n".join(missing) + "\n")
    print("\n".join(parts), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
