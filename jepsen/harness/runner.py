"""One run: network, cluster, workload, nemeses, checks, report."""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

from . import cluster as cluster_mod
from . import history as history_mod
from . import netns, nemesis, report, workloads
from .checker import raftlog
from .monitor import Monitor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv):
    p = argparse.ArgumentParser(prog="jepsen/run", description=__doc__)
    p.add_argument("--workload", default="register", help="register, set, bank or append")
    p.add_argument("--nemesis", default="partition",
                   help="comma list: partition, kill, pause, crash-all, loss, delay, clock, failpoint, "
                        "fsync, corrupt, transfer, none")
    p.add_argument("--time", type=float, default=60, help="seconds of load")
    p.add_argument("--nodes", type=int, default=3, choices=[3, 5])
    p.add_argument("--rate", type=float, default=100, help="operations per second, all clients together")
    p.add_argument("--concurrency", type=int, default=0, help="client processes (default 2 per node)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--interval", type=float, default=5.0, help="mean seconds between and during faults")
    p.add_argument("--rkvd", default=os.path.join(ROOT, "build", "jepsen", "bin", "rkvd"))
    p.add_argument("--bug", default=None, help="planted bug for the test build (RKV_BUG), e.g. stale-reads")
    p.add_argument("--subnet", default="10.77.0.0/24")
    p.add_argument("--network-prefix", default=netns.DEFAULT_PREFIX,
                   help="names of this run's namespaces and links; two runs with different prefixes "
                        "and subnets can share the machine")
    p.add_argument("--results", default=os.path.join(ROOT, "jepsen", "results"))
    p.add_argument("--tick-ms", type=int, default=100)
    p.add_argument("--election-ticks", type=int, default=10)
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--log-retain", type=int, default=500,
                   help="rkvd --log-retain-entries; a small value makes lagging nodes catch up from snapshots")
    p.add_argument("--op-timeout", type=float, default=2.0)
    p.add_argument("--quiet", type=float, default=3.0, help="seconds of calm after the last heal")
    p.add_argument("--proxy", action="store_true", help="route peer links through the fault proxy")
    p.add_argument("--data-root", default="/dev/shm",
                   help="where node data directories go (tmpfs by default: fsync stalls of a shared "
                        "disk otherwise dominate; use /var/tmp to include the real disk)")
    p.add_argument("--keep-data", action="store_true")
    p.add_argument("--cleanup", action="store_true", help="remove leftovers of an earlier run and exit")
    return p.parse_args(argv)


class Context:
    pass


def run_workers(ctx, workload, duration_s, rate, concurrency):
    ids = sorted(ctx.net.ips)
    end = time.monotonic() + duration_s
    max_ops = int(rate * duration_s * 1.5) + 100
    counter = {"n": 0}
    lock = threading.Lock()
    interval = concurrency / rate

    def worker(slot):
        process = slot
        rng = random.Random(ctx.seed * 1000 + slot)
        while time.monotonic() < end:
            with lock:
                counter["n"] += 1
                if counter["n"] > max_ops:
                    return
            began = time.monotonic()
            node = ids[process % len(ids)]
            f, key, value = workload.generate(process)
            ctx.history.append(process, "invoke", f, key, value, node=node)
            try:
                out = workload.invoke(ctx.cluster.clients[node], f, key, value)
            except Exception as e:  # a harness error is indeterminate, never a failure
                from .client import Outcome
                out = Outcome("info", error=f"harness: {e!r}")
            recorded = workload.record_value(f, value, out) if out.type == "ok" else value
            ctx.history.append(process, out.type, f, key, recorded, node=node, error=out.error)
            if out.type == "info":
                process += concurrency  # a process with an op in doubt is retired
            spent = time.monotonic() - began
            time.sleep(max(0.0, interval * rng.uniform(0.5, 1.5) - spent))

    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in range(concurrency)]
    for t in threads:
        t.start()
    return threads


def first_write(ctx, timeout_s=30.0):
    """Seconds until a probe write succeeds through any node."""
    start = time.monotonic()
    k = 0
    while time.monotonic() - start < timeout_s:
        for i in sorted(ctx.net.ips):
            k += 1
            if ctx.cluster.alive(i) and ctx.cluster.admin[i].put(f"probe/{k}", k).type == "ok":
                return round(time.monotonic() - start, 3)
        time.sleep(0.05)
    return None


def convergence(ctx, timeout_s=30.0):
    """Until every running replica of every partition has the same applied
    index and state hash. Returns the verdict dict."""
    start = time.monotonic()
    last = {}
    while True:
        views = ctx.cluster.partitions_view()
        replicas = {}
        for parts in views.values():
            for p in parts:
                replicas.setdefault(p.id, set()).update(r.member_id for r in p.replicas)
        last, ok = {}, bool(replicas)
        for p, members in sorted(replicas.items()):
            answers = {}
            for m in sorted(members):
                if m in ctx.refused or not ctx.cluster.alive(m):
                    continue
                try:
                    h = ctx.cluster.admin[m].partition_hash(p)
                    answers[m] = (h.applied_index, f"{h.hash:016x}")
                except Exception as e:
                    answers[m] = ("error", str(e)[:120])
            last[p] = answers
            if len(set(answers.values())) != 1 or any(a[0] == "error" for a in answers.values()):
                ok = False
        if ok:
            return {"valid": True, "seconds": round(time.monotonic() - start, 3),
                    "partitions": {str(p): {str(m): list(a) for m, a in v.items()} for p, v in last.items()}}
        if time.monotonic() - start > timeout_s:
            return {"valid": False, "why": f"replicas differ after {timeout_s} s",
                    "partitions": {str(p): {str(m): list(a) for m, a in v.items()} for p, v in last.items()}}
        time.sleep(0.5)


def cleanup(ctx, sched, monitor, proxy_proc):
    """Undoes everything the run made; each step runs even if another fails."""
    steps = []
    if sched is not None:
        steps.append(sched.stop_event.set)
    if monitor is not None:
        steps.append(monitor.stop_event.set)
    cluster = getattr(ctx, "cluster", None)
    if cluster is not None:
        steps += [lambda i=i: cluster.kill(i) for i in cluster.nodes]
        steps.append(cluster.close)
    if proxy_proc is not None:
        steps += [proxy_proc.kill, proxy_proc.wait]
    steps += [ctx.history.close, ctx.net.teardown]
    for step in steps:
        try:
            step()
        except Exception as e:
            print(f"cleanup step failed: {e!r}", file=sys.stderr)


def main(argv):
    args = parse_args(argv)
    try:
        netns.configure(args.network_prefix)
    except ValueError as e:
        print(f"jepsen/run: {e}", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("jepsen/run needs root (network namespaces)", file=sys.stderr)
        return 2
    # Held for the whole run: --cleanup must not pull the network from under a
    # live run, and a second run with the same prefix must not start.
    run_lock = netns.hold_run_lock()
    if isinstance(run_lock, int):
        who = f"PID {run_lock}" if run_lock > 0 else "another process"
        print(f"a run with prefix {netns.PREFIX} is in progress ({who}); wait for it, or stop it "
              f"with kill -INT {run_lock if run_lock > 0 else '<pid>'}, or use another --network-prefix",
              file=sys.stderr)
        return 2
    if args.cleanup:
        netns.cleanup_all()
        print("removed:", netns.leftovers() or "nothing left")
        return 0
    left = netns.leftovers()
    if left:
        print("leftovers of an earlier run exist; remove them with `jepsen/run --cleanup`:\n  "
              + "\n  ".join(left), file=sys.stderr)
        return 2
    if not os.access(args.rkvd, os.X_OK):
        print(f"no rkvd at {args.rkvd}; build it with: cmake -S . -B build/jepsen -G Ninja "
              "-DCMAKE_BUILD_TYPE=Release -DRKV_TEST_KNOBS=ON && cmake --build build/jepsen --target rkvd",
              file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    names = [n for n in args.nemesis.split(",") if n]
    stamp = time.strftime("%Y%m%dT%H%M%S")
    out_dir = os.path.join(args.results, f"{stamp}-{args.workload}-{'+'.join(names)}-n{args.nodes}-s{seed}")
    os.makedirs(os.path.join(out_dir, "nodes"), exist_ok=True)
    workdir = os.path.join(args.data_root, f"rkvj-{stamp}-{os.getpid()}")
    os.makedirs(workdir)

    ctx = Context()
    ctx.seed, ctx.rng, ctx.refused = seed, random.Random(seed), set()
    ctx.history = history_mod.History(os.path.join(out_dir, "history.jsonl"))
    ctx.net = netns.Network(args.nodes, args.subnet)
    use_proxy = args.proxy or bool(nemesis.NEEDS_PROXY & set(names))
    use_faketime = bool(nemesis.NEEDS_FAKETIME & set(names))
    ctx.proxy_config = os.path.join(workdir, "proxy-faults.json")
    proxy_proc = None
    interrupted = {"signal": None}

    def on_signal(signum, frame):
        interrupted["signal"] = signum
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    meta = {"workload": args.workload, "nemesis": names, "nodes": args.nodes, "time_s": args.time,
            "rate": args.rate, "seed": seed, "bug": args.bug, "proxy": use_proxy, "rkvd": args.rkvd,
            "command": "jepsen/run " + " ".join(argv)}
    verdicts = {"meta": meta}
    sched = monitor = None
    exit_code = 1
    try:
        print(f"jepsen: {meta['command']} (seed {seed}) -> {out_dir}", flush=True)
        ctx.net.setup()
        ctx.cluster = cluster_mod.Cluster(
            ctx.net, args.rkvd, workdir, os.path.join(out_dir, "nodes"), proxy=use_proxy,
            faketime=use_faketime, tick_ms=args.tick_ms, election_ticks=args.election_ticks, bug=args.bug,
            partitions=args.partitions, op_timeout=args.op_timeout, retain=args.log_retain)
        if use_proxy:
            with open(ctx.proxy_config, "w") as f:
                f.write("{}")
            cfg = {"listen_host": ctx.net.host_ip,
                   "routes": {str(cluster_mod.PROXY_BASE + i): [ip, cluster_mod.PEER_PORT, i]
                              for i, ip in ctx.net.ips.items()},
                   "sources": {ctx.net.ips[i]: ctx.net.proxy_ips[i] for i in ctx.net.ips}}
            with open(os.path.join(workdir, "proxy.json"), "w") as f:
                json.dump(cfg, f)
            proxy_proc = subprocess.Popen(
                [sys.executable, "-m", "harness.proxy", os.path.join(workdir, "proxy.json"), ctx.proxy_config],
                cwd=os.path.join(ROOT, "jepsen"), stdout=open(os.path.join(out_dir, "proxy.log"), "w"),
                stderr=subprocess.STDOUT)
            time.sleep(0.5)
        ctx.cluster.start_all()
        if not ctx.cluster.wait_healthy(30):
            raise RuntimeError("the cluster did not elect every partition's leader within 30 s")
        print(f"cluster healthy at {ctx.history.now() / 1e9:.1f} s", flush=True)
        workload = workloads.get(args.workload, random.Random(seed + 1), {})
        workload.setup(ctx.cluster.clients)
        print(f"workload ready at {ctx.history.now() / 1e9:.1f} s", flush=True)
        monitor = Monitor(ctx.cluster, ctx.history)
        monitor.start()
        concurrency = args.concurrency or 2 * args.nodes
        sched = nemesis.Scheduler(nemesis.build(names, ctx), ctx, ctx.rng, args.time, args.interval,
                                  os.path.join(out_dir, "nemesis.log"))
        load_start = ctx.history.now()
        threads = run_workers(ctx, workload, args.time, args.rate, concurrency)
        sched.start()
        for t in threads:
            t.join(timeout=args.time + args.op_timeout + 30)
        sched.stop_event.set()
        sched.join(timeout=60)
        load_end = ctx.history.now()
        # Bring back every node the faults stopped (not those that rightly refused
        # to start, nor a damaged node that stopped on a checksum error).
        for i in sorted(ctx.net.ips):
            if i not in ctx.refused and not ctx.cluster.alive(i) and not ctx.cluster.nodes[i].damaged:
                ctx.cluster.start(i)
        heal_t = time.monotonic()
        recovery = {"first_write_after_heal_s": first_write(ctx)}
        time.sleep(args.quiet)
        workload.final(ctx.cluster.clients, ctx.history)
        conv = convergence(ctx)
        conv["catch_up_after_heal_s"] = round(time.monotonic() - heal_t, 3) if conv["valid"] else None
        monitor.stop_event.set()
        monitor.join(timeout=5)
        monitor.sample()
        crashes = ctx.cluster.unexpected_exits()
        ctx.cluster.stop_all()
        crashes += [c for c in ctx.cluster.unexpected_exits() if c not in crashes]
        ctx.history.close()

        ops = ctx.history.ops()
        paired = history_mod.pair(ops)
        t0 = time.monotonic()
        verdicts["workload"] = workload.check(paired)
        verdicts["workload"]["check_seconds"] = round(time.monotonic() - t0, 3)
        verdicts["convergence"] = conv
        logs = {i: ctx.cluster.log_path(i) for i in ctx.net.ips}
        verdicts["raft_log"] = raftlog.check(logs)
        verdicts["raft_monitor"] = {"valid": not monitor.violations, "violations": monitor.violations[:20],
                                    "samples": len(monitor.samples)}
        verdicts["crashes"] = {"valid": not crashes,
                               "unexpected_exits": [{"node": i, "code": c} for i, c in crashes]}
        verdicts["recovery"] = recovery
        verdicts["nemesis"] = {"windows": sched.windows, "errors": sched.errors, "refused_to_start": sorted(ctx.refused)}
        verdicts["stats"] = report.stats(paired, load_start, load_end)
        verdicts["stats"]["recovery_per_fault"] = report.recovery_per_fault(paired, sched.windows,
                                                                            monitor.samples)
        checks = ["workload", "convergence", "raft_log", "raft_monitor", "crashes"]
        verdicts["valid"] = all(verdicts[c]["valid"] is True for c in checks)
        if verdicts["workload"]["valid"] is not True and args.workload == "register":
            verdicts["timeline"] = report.violation_timeline(verdicts["workload"], ops, monitor, sched.windows)
        exit_code = 0 if verdicts["valid"] else 1
    except KeyboardInterrupt:
        print(f"interrupted (signal {interrupted['signal']}); cleaning up", file=sys.stderr)
        verdicts["valid"] = False
        verdicts["error"] = "interrupted"
        exit_code = 130
    except Exception as e:
        import traceback
        traceback.print_exc()
        verdicts["valid"] = False
        verdicts["error"] = repr(e)
        exit_code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cleanup(ctx, sched, monitor, proxy_proc)
        if args.keep_data:
            print(f"data kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with open(os.path.join(out_dir, "verdicts.json"), "w") as f:
        json.dump(verdicts, f, indent=1, default=str)
    try:
        report.write(out_dir, verdicts)
    except Exception as e:
        print(f"report failed: {e!r}", file=sys.stderr)
    print(report.summary(verdicts, out_dir), flush=True)
    return exit_code
