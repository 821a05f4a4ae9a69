"""Statistics, plots (matplotlib, Agg) and the HTML report of one run."""
import bisect
import html
import json
import os

NS = 1e9


def stats(paired, load_start, load_end):
    counts = {}
    for op in paired:
        counts[op["type"]] = counts.get(op["type"], 0) + 1
    lat = sorted((op["ret"] - op["call"]) / 1e6 for op in paired if op["type"] == "ok" and op["ret"])
    pct = (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 2)) if lat else (lambda q: None)
    seconds = max(1e-9, (load_end - load_start) / NS)
    return {"ops": len(paired), "by_type": counts, "ok_per_s": round(counts.get("ok", 0) / seconds, 1),
            "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": round(lat[-1], 2) if lat else None}}


def _ok_times(paired):
    return sorted(op["ret"] for op in paired if op["type"] == "ok" and op["ret"])


# How long after a fault ends a new term still counts as caused by its end
# (a rejoining node disrupting the cluster); more than an election timeout.
AFTER_END_NS = 5 * NS


def term_rises(samples):
    """[(t, partition)] whenever the highest term any node reports for a
    partition goes up (the first sighting of a partition does not count).
    REQUIRES: samples sorted by time."""
    out, highest = [], {}
    for t, node, p, role, term, commit, applied, leader in samples:
        if p in highest and term > highest[p]:
            out.append((t, p))
        highest[p] = max(term, highest.get(p, 0))
    return out


def affected_node(window):
    """The one node a fault hit (killed, paused, isolated), or None."""
    detail = window.get("detail") or {}
    node = detail.get("isolated", detail.get("node"))
    return node if isinstance(node, int) else None


def caught_up_after(samples, node, stop):
    """Seconds from stop until every replica of `node` applied what any node
    had committed at stop (sampled, so within the monitor's period), or None.
    REQUIRES: samples sorted by time."""
    first = bisect.bisect_left(samples, (stop - NS,))
    target = {}
    for t, n, p, role, term, commit, applied, leader in samples[first:]:
        if t > stop:
            break
        target[p] = max(commit, target.get(p, 0))
    if not target:
        return None
    reached = set()
    for t, n, p, role, term, commit, applied, leader in samples[first:]:
        if t < stop or n != node or p not in target:
            continue
        if applied >= target[p]:
            reached.add(p)
            if reached == set(target):
                return round((t - stop) / NS, 2)
    return None


def recovery_per_fault(paired, windows, samples=()):
    """For each fault window: the longest stretch without any ok operation
    inside it (how long clients were stuck), and the time from its end to the
    next ok write. With the monitor's samples, also how many partitions got a
    new term within AFTER_END_NS of its end, before the next fault starts (a
    rejoining node should cause none: pre-vote and check-quorum) and, for a
    fault that hit one node, how long that node took to catch up."""
    samples = sorted(samples)
    rises = [t for t, p in term_rises(samples)]
    oks = _ok_times(paired)
    writes = sorted(op["ret"] for op in paired
                    if op["type"] == "ok" and op["ret"] and op["f"] in ("write", "cas", "add", "transfer", "append"))
    out = []
    for w in windows:
        a, b = w["start"], w["stop"]
        i = bisect.bisect_left(oks, a)
        prev, gap = a, 0
        while i < len(oks) and oks[i] <= b:
            gap = max(gap, oks[i] - prev)
            prev = oks[i]
            i += 1
        gap = max(gap, b - prev)
        j = bisect.bisect_left(writes, b)
        after = (writes[j] - b) / NS if j < len(writes) else None
        entry = {"fault": w["fault"], "start_s": round(a / NS, 2), "stop_s": round(b / NS, 2),
                 "longest_no_ok_s": round(gap / NS, 2),
                 "first_ok_write_after_end_s": round(after, 2) if after is not None else None}
        if samples:
            # Up to the next fault's start: its own elections are not this end's.
            limit = min([b + AFTER_END_NS] + [o["start"] for o in windows if o["start"] > b])
            entry["new_terms_after_end"] = bisect.bisect_left(rises, limit) - bisect.bisect_left(rises, b)
            node = affected_node(w)
            if node is not None:
                entry["node"] = node
                entry["caught_up_after_end_s"] = caught_up_after(samples, node, b)
        out.append(entry)
    return out


def violation_timeline(verdict, ops, monitor, windows):
    """Text lines around the first op that could not be placed: the
    linearizable prefix, the op, concurrent nemesis events and leaders."""
    fails = verdict.get("failures") or []
    if not fails:
        return []
    f = fails[0]
    stuck = f.get("stuck") or {}
    lines = [f"key {f['key']}: longest linearizable prefix has {len(f['prefix'])} ops; "
             f"this op cannot be placed after it:",
             f"  STUCK p{stuck.get('process')} {stuck.get('f')} value={stuck.get('value')} "
             f"result={stuck.get('result')} [{stuck.get('call', 0) / NS:.3f}s .. "
             f"{(stuck.get('ret') or 0) / NS:.3f}s] node=n{_node_of(ops, stuck)}"]
    lines.append("  prefix (last 15, in linearization order):")
    for op in f["prefix"][-15:]:
        lines.append(f"    p{op['process']} {op['f']} value={op['value']} result={op['result']} "
                     f"[{op['call'] / NS:.3f}s .. {(op['ret'] or 0) / NS:.3f}s] node=n{_node_of(ops, op)}")
    lo = min([op["call"] for op in f["prefix"][-15:]] + [stuck.get("call", 0)]) - int(2 * NS)
    hi = (stuck.get("ret") or stuck.get("call", 0)) + int(1 * NS)
    lines.append("  nemesis events in that interval:")
    for w in windows:
        if w["stop"] >= lo and w["start"] <= hi:
            lines.append(f"    {w['fault']} {json.dumps(w['detail'])} [{w['start'] / NS:.3f}s .. {w['stop'] / NS:.3f}s]")
    lines.append("  leader changes in that interval (t, partition, leader):")
    for t, p, leader in monitor.leader_changes():
        if lo <= t <= hi:
            lines.append(f"    {t / NS:.3f}s partition {p} -> n{leader}")
    return lines


def _node_of(ops, paired_op):
    idx = paired_op.get("index")
    if idx is not None and idx < len(ops):
        return ops[idx].get("node")
    return None


def plot(out_dir, paired, windows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, 7), sharex=True)
    colors = {"ok": "tab:green", "fail": "tab:red", "info": "tab:orange"}
    end = max([op["ret"] or op.get("ret_time") or op["call"] for op in paired] + [1]) / NS
    buckets = int(end) + 1
    for t in ("ok", "fail", "info"):
        series = [0] * buckets
        for op in paired:
            if op["type"] == t:
                series[min(buckets - 1, int((op["ret"] or op.get("ret_time") or op["call"]) / NS))] += 1
        ax1.plot(range(buckets), series, label=t, color=colors[t], drawstyle="steps-post")
        xs = [op["call"] / NS for op in paired if op["type"] == t and (op["ret"] or op.get("ret_time"))]
        ys = [((op["ret"] or op["ret_time"]) - op["call"]) / 1e6 for op in paired
              if op["type"] == t and (op["ret"] or op.get("ret_time"))]
        ax2.scatter(xs, ys, s=3, color=colors[t], label=t, alpha=0.6)
    kinds = sorted({w["fault"] for w in windows})
    for ax in (ax1, ax2):
        for w in windows:
            ax.axvspan(w["start"] / NS, w["stop"] / NS, color=f"C{(kinds.index(w['fault']) + 3) % 10}", alpha=0.15,
                       label=w["fault"] if ax is ax1 else None)
    handles, labels = ax1.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax1.legend(uniq.values(), uniq.keys(), loc="upper right", fontsize=7, ncol=4)
    ax1.set_ylabel("operations / s")
    ax1.set_title("throughput by outcome; shaded: fault windows")
    if any(op["type"] in colors and (op["ret"] or op.get("ret_time")) for op in paired):
        ax2.set_yscale("log")
    ax2.set_ylabel("latency (ms)")
    ax2.set_xlabel("seconds since start")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "timeline.png"), dpi=90)
    plt.close(fig)


def write(out_dir, verdicts):
    from .history import load, pair
    paired = pair(load(os.path.join(out_dir, "history.jsonl")))
    windows = verdicts.get("nemesis", {}).get("windows", [])
    plot(out_dir, paired, windows)
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(k)}</td><td class={'ok' if verdicts[k].get('valid') is True else 'bad'}>"
        f"{e(str(verdicts[k].get('valid')))}</td></tr>"
        for k in ("workload", "convergence", "raft_log", "raft_monitor", "crashes") if k in verdicts)
    faults = "".join(f"<tr><td>{e(w['fault'])}</td><td>{w['start'] / NS:.2f}</td><td>{w['stop'] / NS:.2f}</td>"
                     f"<td>{e(json.dumps(w['detail']))}</td></tr>" for w in windows)
    timeline = "\n".join(verdicts.get("timeline", []))
    page = f"""<!doctype html><html><head><meta charset=utf-8><title>rkv jepsen {e(os.path.basename(out_dir))}</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{border:1px solid #ccc;padding:3px 8px}}
table{{border-collapse:collapse}} .ok{{background:#cfc}} .bad{{background:#fcc}} pre{{background:#f4f4f4;padding:1em}}</style>
</head><body><h1>rkv jepsen run: {'PASS' if verdicts.get('valid') else 'FAIL'}</h1>
<pre>{e(json.dumps(verdicts.get('meta', {}), indent=1))}</pre>
<h2>Checkers</h2><table><tr><th>checker</th><th>valid</th></tr>{rows}</table>
<h2>Throughput and latency</h2><img src="timeline.png" width=1000>
<h2>Statistics</h2><pre>{e(json.dumps(verdicts.get('stats', {}), indent=1))}</pre>
<h2>Recovery</h2><pre>{e(json.dumps(verdicts.get('recovery', {}), indent=1))}</pre>
<h2>Violation timeline</h2><pre>{e(timeline) or 'none'}</pre>
<h2>Faults</h2><table><tr><th>fault</th><th>start s</th><th>stop s</th><th>detail</th></tr>{faults}</table>
<h2>All verdicts</h2><pre>{e(json.dumps(verdicts, indent=1, default=str)[:200000])}</pre>
<p>Files: history.jsonl, nemesis.log, nodes/n*.log, verdicts.json.</p></body></html>"""
    with open(os.path.join(out_dir, "report.html"), "w") as f:
        f.write(page)


def summary(verdicts, out_dir):
    lines = [f"{'PASS' if verdicts.get('valid') else 'FAIL'}  {out_dir}"]
    for k in ("workload", "convergence", "raft_log", "raft_monitor", "crashes"):
        if k in verdicts:
            v = verdicts[k]
            extra = ""
            if k == "workload":
                extra = f" ops={verdicts.get('stats', {}).get('ops')} {json.dumps(verdicts.get('stats', {}).get('by_type'))}"
                if v.get("failure_count"):
                    extra += f" failures={v['failure_count']}"
            if k == "convergence":
                extra = f" catch-up={v.get('catch_up_after_heal_s')}s"
            lines.append(f"  {k:13s} {v.get('valid')}{extra}")
    if "recovery" in verdicts:
        lines.append(f"  recovery      {json.dumps(verdicts['recovery'])}")
    if "error" in verdicts:
        lines.append(f"  error         {verdicts['error']}")
    for line in verdicts.get("timeline", [])[:30]:
        lines.append("  " + line)
    return "\n".join(lines)
