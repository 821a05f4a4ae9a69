"""Raft invariants from the nodes' logs: the line
  "partition=P term=T leader is now L (this node is <role>)"
must never name two different leaders for one (P, T), and one node's terms
for a partition never go backwards. Crashes: RKV_CHECK failures and aborts
that the harness did not inject."""
import re

LEADER = re.compile(r"partition=(\d+) term=(\d+) leader is now (\d+) \(this node is ([\w-]+)\)")
CRASH = re.compile(r"(Check failed|RKV_CHECK|terminate called|AddressSanitizer|Segmentation fault|"
                   r"injected panic|failpoint .*: injected)")


def check(log_paths):
    leaders, last_term, violations, crash_lines, lines = {}, {}, [], [], 0
    for node, path in log_paths.items():
        try:
            f = open(path, errors="replace")
        except OSError:
            continue
        with f:
            for line in f:
                lines += 1
                if line.startswith("==== harness: starting"):
                    continue
                m = LEADER.search(line)
                if m:
                    p, t, leader = int(m.group(1)), int(m.group(2)), int(m.group(3))
                    if leader:
                        other = leaders.setdefault((p, t), leader)
                        if other != leader:
                            violations.append({"why": "two leaders in one term", "partition": p, "term": t,
                                               "leaders": [other, leader], "line": line.strip()})
                    prev = last_term.get((node, p), 0)
                    if t < prev:
                        violations.append({"why": "term went backwards", "node": node, "partition": p,
                                           "before": prev, "after": t, "line": line.strip()})
                    last_term[(node, p)] = t
                elif CRASH.search(line):
                    crash_lines.append({"node": node, "line": line.strip()[:300]})
    return {"valid": not violations, "violations": violations[:20], "leader_terms": len(leaders),
            "log_lines": lines, "crash_lines": crash_lines[:50]}
