"""Summarise an Autobahn|Testsuite fuzzing-client report for fazt's /ws (run by scripts/autobahn.sh).

    python3 scripts/autobahn_report.py REPORT_DIR [--cap BYTES] [--sizes SIZES.json] [--must-pass 1,2,12]

Prints, per case group, how many cases ended OK, NON-STRICT, INFORMATIONAL, CAPPED or otherwise,
then every case that is not as expected; exits 1 if there is any.

CAPPED: a case whose message is larger than fazt's message cap (SPEC §8: 64 KiB) must end with the
server's close 1009 (message too big) and nothing else; the suite itself reports those FAILED,
since it expects an echo. A case's largest message comes from SIZES.json (written by
autobahn_sizes.py for the compression cases, whose text messages are LEN characters, not bytes),
else from its description ("payload of length 4 * 2**20"); a case whose size cannot be known is
judged by the suite's verdict alone. With C{--must-pass GROUPS}, a case of those groups must pass
as it is: CAPPED there counts as UNEXPECTED (for a run with the cap raised above their messages).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}
TOO_BIG = 1009
COLUMNS = ["OK", "NON-STRICT", "INFORMATIONAL", "CAPPED", "UNEXPECTED"]


def payload_size(description: str) -> int | None:
    """The message size a case description names, in bytes (None if it names none)."""
    power = re.search(r"payload of length (\d+) \* 2\*\*(\d+)", description)
    if power:
        return int(power.group(1)) * 2 ** int(power.group(2))
    plain = re.search(r"payload size (\d+)", description)
    return int(plain.group(1)) if plain else None


def case_key(case_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in case_id.split("."))


def judge(entry: dict, details: dict, cap: int, size: int | None, must_pass: bool = False) -> str:
    """One of L{COLUMNS} for a case: its index entry, its own report file, its largest message.

    C{must_pass}: the case may not be CAPPED, whatever its size.
    """
    if size is None:
        size = payload_size(details.get("description", ""))
    if size is not None and size > cap and not must_pass:
        return "CAPPED" if entry.get("remoteCloseCode") == TOO_BIG else "UNEXPECTED"
    if entry["behavior"] in PASSING and entry["behaviorClose"] in PASSING:
        return entry["behavior"]
    return "UNEXPECTED"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", type=Path)
    parser.add_argument("--cap", type=int, default=64 * 1024, help="the server's message cap in bytes")
    parser.add_argument("--sizes", type=Path, help="JSON: case id -> its largest message in bytes")
    parser.add_argument("--must-pass", default="", help="comma-separated groups none of whose cases may be CAPPED")
    args = parser.parse_args(argv)
    must_pass = {group.strip() for group in args.must_pass.split(",") if group.strip()}
    sizes = json.loads(args.sizes.read_text()) if args.sizes else {}
    index = json.loads((args.reports / "index.json").read_text())
    status = 0
    for agent, cases in sorted(index.items()):
        groups: dict[str, Counter] = defaultdict(Counter)
        millis: Counter = Counter()
        unexpected, capped = [], []
        for case_id in sorted(cases, key=case_key):
            entry = cases[case_id]
            details = json.loads((args.reports / entry["reportfile"]).read_text())
            group = case_id.split(".")[0]
            verdict = judge(entry, details, args.cap, sizes.get(case_id), group in must_pass)
            groups[group][verdict] += 1
            millis[group] += entry.get("duration", 0)
            if verdict == "UNEXPECTED":
                unexpected.append((case_id, entry, details))
            elif verdict == "CAPPED":
                capped.append(case_id)
        print(f"\nAgent {agent}: {len(cases)} cases")
        print(f"{'group':>5} {'cases':>6} " + " ".join(f"{c:>13}" for c in COLUMNS) + f" {'seconds':>8}")
        for group in sorted(groups, key=int):
            counts = groups[group]
            print(f"{group:>5} {sum(counts.values()):>6} " + " ".join(f"{counts[c]:>13}" for c in COLUMNS)
                  + f" {millis[group] / 1000:>8.1f}")
        if capped:
            print(f"\nCAPPED (message over {args.cap} bytes, closed with {TOO_BIG} as SPEC §8 says): "
                  + ", ".join(capped))
        for case_id, entry, details in unexpected:
            status = 1
            print(f"\nUNEXPECTED {case_id}: behavior {entry['behavior']}, close {entry['behaviorClose']}, "
                  f"remote close code {entry.get('remoteCloseCode')}")
            print(f"  case:   {details.get('description', '').strip()}")
            print(f"  result: {details.get('result', '')}; {details.get('resultClose', '')}")
    if status == 0:
        print("\nEvery case is OK, NON-STRICT, INFORMATIONAL, or over the cap and closed with 1009.")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
