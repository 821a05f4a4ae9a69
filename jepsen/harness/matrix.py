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
    return p.parse_args(argv)


def combinations(args):
    names = sorted(nemesis.ALL) if args.nemeses == "all" else (
        [",".join(sorted(nemesis.ALL))] if args.nemeses == "mixed" else args.nemeses.split(","))
    for nodes in [int(n) for n in args.nodes.split(",")]:
        for workload in args.workloads.split(","):
            for name in names:
                yield workload, name, nodes


def done_rows(record):
    done = set()
    if not os.path.exists(record):
        return done
    with open(record) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 12 or cells[11] != "PASS":
                continue
            try:
                done.add((cells[2], cells[3].replace(" ", ""), int(cells[4]), float(cells[5])))
            except ValueError:
                continue
    return done


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


def main(argv):
    args = parse_args(argv)
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
