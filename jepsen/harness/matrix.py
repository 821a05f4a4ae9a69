"""jepsen/matrix: runs jepsen/run once for each workload x nemesis x node
count, one after the other, and appends one Markdown table row per run to a
file (default jepsen/RUNS.md), so runs spread over several sessions add up to
one record. Each row names the commit, the verdict and the run's folder.

  jepsen/matrix --workloads register,set --nemeses all --nodes 3,5 --time 300
  jepsen/matrix --nemeses partition,kill --nodes 3 --time 300 --skip-done

--skip-done leaves out combinations the file already holds a passing row for
(same workload, nemeses, nodes and at least the same duration), so an
interrupted campaign resumes where it stopped. --until HH:MM stops starting
new runs after that time of day. Two campaigns can share the machine when
each has its own --network-prefix and --subnet (and seeds that differ).
Exits non-zero if any run failed.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time

from . import nemesis

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HEADER = ("| date | commit | workload | nemeses | nodes | s | ok | fail | info | faults | "
          "first write after heal (s) | verdict | run |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="jepsen/matrix", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", default="register,set")
    p.add_argument("--nemeses", default="all",
                   help="comma-separated; each runs alone. 'all' = every nemesis; "
                        "'mixed' = one run combining every nemesis")
    p.add_argument("--nodes", default="3,5")
    p.add_argument("--time", type=float, default=300)
    p.add_argument("--rate", type=float, default=100)
    p.add_argument("--seed", type=int, default=1, help="seed of the first run; each run adds 1")
    p.add_argument("--record", default=os.path.join(ROOT, "jepsen", "RUNS.md"))
    p.add_argument("--skip-done", action="store_true")
    p.add_argument("--until", default=None, help="HH:MM: start no run after this time of day")
    p.add_argument("--network-prefix", default=None, help="passed to jepsen/run")
    p.add_argument("--subnet", default=None, help="passed to jepsen/run")
    p.add_argument("--dry-run", action="store_true", help="print the runs and exit")
    p.add_argument("--summary", action="store_true",
                   help="print the goals' figures over every run the record names, and exit")
    return p.parse_args(argv)


def combinations(args):
    names = sorted(nemesis.ALL) if args.nemeses == "all" else (
        [",".join(sorted(nemesis.ALL))] if args.nemeses == "mixed" else args.nemeses.split(","))
    for nodes in [int(n) for n in args.nodes.split(",")]:
        for workload in args.workloads.split(","):
            for name in names:
                yield workload, name, nodes


def run_rows(record):
    """The cells of every run row of the record (a row naming its run's folder)."""
    if not os.path.exists(record):
        return []
    with open(record) as f:
        rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in f]
    return [cells for cells in rows if len(cells) >= 13 and cells[12][:1].isdigit()]


def done_rows(record):
    return {(cells[2], cells[3].replace(" ", ""), int(cells[4]), float(cells[5]))
            for cells in run_rows(record) if cells[11] == "PASS"}


def commit(record):
    out = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    # The record itself changes with every run; it says nothing of the code.
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", ".",
                            f":!{os.path.relpath(record, ROOT)}"],
                           capture_output=True, text=True).stdout.strip()
    return out.stdout.strip() + ("+" if dirty else "")


def run_folder(results, before, workload, name, nodes, seed):
    """The folder jepsen/run made for this run: named by its workload,
    nemeses, nodes and seed, so a concurrent campaign's folders never match."""
    suffix = f"-{workload}-{name.replace(',', '+')}-n{nodes}-s{seed}"
    runs = [os.path.join(results, d) for d in os.listdir(results) if d.endswith(suffix)] \
        if os.path.isdir(results) else []
    runs = [d for d in runs if os.path.isdir(d) and d not in before]
    return max(runs, key=os.path.getmtime) if runs else None


def row(workload, name, nodes, seconds, run_dir, exit_code, revision):
    v = {}
    if run_dir and os.path.exists(os.path.join(run_dir, "verdicts.json")):
        with open(os.path.join(run_dir, "verdicts.json")) as f:
            v = json.load(f)
    by_type = v.get("stats", {}).get("by_type", {})
    faults = len(v.get("nemesis", {}).get("windows", []))
    first = v.get("recovery", {}).get("first_write_after_heal_s")
    verdict = "PASS" if exit_code == 0 and v.get("valid") is True else f"FAIL (exit {exit_code})"
    return (f"| {datetime.date.today().isoformat()} | {revision} | {workload} | {name.replace(',', ', ')} | "
            f"{nodes} | {seconds:g} | {by_type.get('ok', 0)} | {by_type.get('fail', 0)} | "
            f"{by_type.get('info', 0)} | {faults} | {first if first is not None else '-'} | {verdict} | "
            f"{os.path.basename(run_dir) if run_dir else '-'} |\n")


# Faults that hit one node: clients must be served again within 3 s.
ONE_NODE = ("kill-random", "kill-leader", "pause-random", "pause-leader", "isolate-one", "isolate-leader")


def recorded_runs(record):
    """(row cells, verdicts or None) for every run row of the record."""
    results = os.path.join(os.path.dirname(record), "results")
    out = []
    for cells in run_rows(record):
        path = os.path.join(results, cells[12], "verdicts.json")
        verdicts = None
        if os.path.exists(path):
            with open(path) as v:
                verdicts = json.load(v)
        out.append((cells, verdicts))
    return out


def recovery_lines(verdicts):
    """The recovery goals' figures over some runs' verdicts."""
    lines = []
    faults = [f for v in verdicts for f in v.get("stats", {}).get("recovery_per_fault", [])]

    def worst(name, values, goal, unit="faults"):
        values = [x for x in values if x is not None]
        if not values:
            return f"{name}: no data"
        values.sort()
        over = sum(1 for x in values if x > goal)
        return (f"{name}: {len(values)} {unit}, median {values[len(values) // 2]:.2f} s, "
                f"max {values[-1]:.2f} s, {over} over the {goal:g} s goal")
    one = [f for f in faults if f["fault"] in ONE_NODE]
    lines.append(worst("one node killed, paused or isolated: longest stretch without an ok operation",
                       [f["longest_no_ok_s"] for f in one], 3))
    lines.append(worst("first ok write after a fault ends", [f["first_ok_write_after_end_s"] for f in faults], 5))
    lines.append(worst("the node a fault hit caught up after it ended",
                       [f.get("caught_up_after_end_s") for f in one if "node" in f], 30))
    catch = [v.get("convergence", {}).get("catch_up_after_heal_s") for v in verdicts]
    lines.append(worst("every replica converged after the final heal", catch, 30, unit="runs"))
    rejoin = [f for f in faults if f["fault"] in ("isolate-one", "isolate-leader") and "new_terms_after_end" in f]
    lines.append(f"isolated node rejoined: {len(rejoin)} times, new terms within 5 s after: "
                 f"{sum(f['new_terms_after_end'] for f in rejoin)}")
    restarted = [f for f in faults if f["fault"] in ONE_NODE[:4] and "new_terms_after_end" in f]
    lines.append(f"killed or paused node came back: {len(restarted)} times, new terms within 5 s after: "
                 f"{sum(f['new_terms_after_end'] for f in restarted)}")
    return lines


def summary(record):
    """The figures the suite's goals name, over every recorded run."""
    runs = recorded_runs(record)
    lines = []
    verdicts = [v for _, v in runs if v]
    passed = sum(1 for c, _ in runs if c[11] == "PASS")
    lines.append(f"runs: {len(runs)} ({passed} pass, {len(runs) - passed} fail); "
                 f"verdicts.json found for {len(verdicts)}")
    ops = [sum(int(c[i]) for c, _ in runs) for i in (6, 7, 8)]
    lines.append(f"operations: {ops[0]} ok, {ops[1]} fail, {ops[2]} info; "
                 f"fault windows: {sum(int(c[9]) for c, _ in runs)}")
    failed_checks = {}
    for c, v in runs:
        for check in ("workload", "convergence", "raft_log", "raft_monitor", "crashes"):
            if v and v.get(check, {}).get("valid") is not True:
                failed_checks.setdefault(check, []).append(c[12])
    lines.append("failed checks: " + ("; ".join(f"{k}: {', '.join(r)}" for k, r in failed_checks.items())
                                      or "none"))
    unknown = [c[12] for c, v in runs if v and v.get("workload", {}).get("unknown")]
    check_s = [v["workload"].get("check_seconds", 0) for v in verdicts if "workload" in v]
    lines.append(f"checker: UNKNOWN in {len(unknown)} of {len(verdicts)} runs; "
                 f"slowest check {max(check_s, default=0):.2f} s")
    single = [v for c, v in runs if v and "," not in c[3]]
    combined = [v for c, v in runs if v and "," in c[3]]
    lines.append(f"recovery in the {len(single)} runs of one nemesis each:")
    lines += ["  " + line for line in recovery_lines(single)]
    if combined:
        lines.append(f"recovery in the {len(combined)} runs of combined nemeses (faults overlap, and a node "
                     "the corrupt nemesis damaged may stay down, so two nodes can be out at once; the "
                     "one-node goals do not apply):")
        lines += ["  " + line for line in recovery_lines(combined)]
    return "\n".join(lines)


def main(argv):
    args = parse_args(argv)
    if args.summary:
        print(summary(args.record))
        return 0
    done = done_rows(args.record) if args.skip_done else set()
    plan = [c for c in combinations(args)
            if not any(d[:3] == (c[0], c[1].replace(" ", ""), c[2]) and d[3] >= args.time for d in done)]
    for workload, name, nodes in plan:
        print(f"planned: --workload {workload} --nemesis {name} --nodes {nodes} --time {args.time:g}")
    if args.dry_run or not plan:
        return 0
    if not os.path.exists(args.record):
        with open(args.record, "w") as f:
            f.write("# jepsen/ runs\n\nOne row per `jepsen/run`, appended by `jepsen/matrix`.\n\n" + HEADER)
    results = os.path.join(ROOT, "jepsen", "results")
    failed = 0
    for i, (workload, name, nodes) in enumerate(plan):
        if args.until and time.strftime("%H:%M") >= args.until:
            print(f"stopping: it is past {args.until}; {len(plan) - i} runs left (--skip-done resumes)")
            break
        before = set(os.path.join(results, d) for d in os.listdir(results)) if os.path.isdir(results) else set()
        seed = args.seed + i
        command = [os.path.join(ROOT, "jepsen", "run"), "--workload", workload, "--nemesis", name,
                   "--nodes", str(nodes), "--time", f"{args.time:g}", "--rate", f"{args.rate:g}",
                   "--seed", str(seed)]
        for flag, value in (("--network-prefix", args.network_prefix), ("--subnet", args.subnet)):
            if value:
                command += [flag, value]
        print("running:", " ".join(command), flush=True)
        revision = commit(args.record)  # the tree the run starts from
        exit_code = subprocess.run(command).returncode
        folder = run_folder(results, before, workload, name, nodes, seed)
        line = row(workload, name, nodes, args.time, folder, exit_code, revision)
        failed += exit_code != 0
        with open(args.record, "a") as f:
            f.write(line)
        print(line, end="", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
