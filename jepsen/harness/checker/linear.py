"""Linearizability of a key-value register history, key by key.

Per-key decomposition (P-compositionality), then for each key:
  * keys with only reads and writes of unique values: the O(n log n) zone
    test of Gibbons and Korach (no two forward zones overlap, no backward zone
    lies inside a forward zone, no read returns before its write began);
  * otherwise Wing-Gong-Lowe search with memoization of (linearized set,
    state), as Porcupine does, within step and time budgets. Past a budget
    the key's verdict is UNKNOWN (which fails the run).
Info (indeterminate) operations: info reads are dropped; an info write or CAS
whose value nobody observed is dropped, together with the failed compares it
could explain (see prepare()); an observed one must have happened, and ends
at its first observer's return. An observed info CAS observes its compare
value in turn.

Operations are dicts from history.pair(): f in read/write/cas, value (write:
v; cas: [expected, new]), result (read: v or None; cas: bool swapped),
type ok/info, call/ret in ns.
"""
import bisect
import time

VALID, INVALID, UNKNOWN = True, False, "unknown"


class Op:
    __slots__ = ("id", "f", "value", "result", "call", "ret", "src")

    def __init__(self, id_, f, value, result, call, ret, src):
        self.id, self.f, self.value, self.result, self.call, self.ret, self.src = \
            id_, f, value, result, call, ret, src


def written_value(op):
    if op["f"] == "write":
        return op["value"]
    if op["f"] == "cas":
        return op["value"][1]
    return None


def prepare(ops):
    """Drops what cannot matter and closes observed info writes. Returns Ops."""
    observers = {}  # value -> earliest return of an ok op that saw it
    for op in ops:
        if op["type"] != "ok":
            continue
        seen = None
        if op["f"] == "read" and op["result"] is not None:
            seen = op["result"]
        elif op["f"] == "cas" and op["result"]:
            seen = op["value"][0]
        if seen is not None and (seen not in observers or op["ret"] < observers[seen]):
            observers[seen] = op["ret"]
    # An observed info CAS took effect, so it saw its compare value: that
    # value is observed too, by the CAS's (closed) return. Chains of info
    # CASes propagate (found by a failpoint run: an info write 1181 was
    # dropped as unobserved while the info CAS 1181 -> 1182 was kept because
    # 1182 was read, and the kept CAS could then never apply).
    changed = True
    while changed:
        changed = False
        for op in ops:
            if op["type"] != "info" or op["f"] != "cas" or op["value"][1] not in observers:
                continue
            seen, by = op["value"][0], max(observers[op["value"][1]], op["call"] + 1)
            if seen not in observers or by < observers[seen]:
                observers[seen] = by
                changed = True
    # A CAS whose compare failed saw "some other value", and an unobserved
    # info write may be what it saw. Keeping such writes open-ended makes the
    # search exponential, so instead a failed compare that returned after an
    # unobserved info write began is dropped: weaker (never a false alarm),
    # and the unobserved write can then be dropped as well.
    unobserved_calls = [op["call"] for op in ops
                        if op["type"] == "info" and op["f"] != "read" and written_value(op) not in observers]
    first_unobserved = min(unobserved_calls, default=float("inf"))
    out = []
    for op in ops:
        t = op["type"]
        if t == "fail":
            continue
        ret, result = op["ret"], op["result"]
        if t == "ok" and op["f"] == "cas" and not result and ret > first_unobserved:
            continue
        if t == "info":
            if op["f"] == "read":
                continue
            v = written_value(op)
            if v not in observers:
                continue
            ret = max(observers[v], op["call"] + 1)
            if op["f"] == "cas":
                result = True
        out.append(Op(len(out), op["f"], op["value"], result, op["call"], ret, op))
    return out


def step(state, op):
    """(legal, next state) of the register model."""
    f = op.f
    if f == "read":
        return state == op.result, state
    if f == "write":
        return True, op.value
    expected, new = op.value
    if op.result:
        return state == expected, new
    return state != expected, state


def check_zones(ops):
    """Read/write-only register with unique written values. Returns
    (verdict, culprit op or None)."""
    writes = {}
    reads = {}
    for op in ops:
        if op.f == "write":
            writes[op.value] = op
        else:
            reads.setdefault(op.result, []).append(op)
    zones_fwd, zones_bwd = [], []
    values = set(writes) | set(reads)
    for v in values:
        w = writes.get(v)
        rs = reads.get(v, [])
        if v is None:
            call_w, ret_w = float("-inf"), float("-inf")
        elif w is None:
            return INVALID, rs[0]  # a value nobody wrote
        else:
            call_w, ret_w = w.call, w.ret
        for r in rs:
            if r.ret < call_w:
                return INVALID, r  # read returned before its write began
        f = min([ret_w] + [r.ret for r in rs])
        s = max([call_w] + [r.call for r in rs])
        culprit = max(rs, key=lambda r: r.call) if rs else w
        if f < s:
            zones_fwd.append((f, s, culprit))
        else:
            zones_bwd.append((s, f, culprit))
    zones_fwd.sort(key=lambda z: z[0])
    for a, b in zip(zones_fwd, zones_fwd[1:]):
        if b[0] < a[1]:
            return INVALID, b[2]
    starts = [z[0] for z in zones_fwd]
    for s, f, culprit in zones_bwd:
        k = bisect.bisect_left(starts, s) - 1
        if k >= 0 and zones_fwd[k][1] > f:
            return INVALID, culprit
    return VALID, None


def check_wgl(ops, init=None, max_steps=2_000_000, deadline=None):
    """Wing-Gong-Lowe search. Returns (verdict, info) where info has
    'prefix' (ops of the longest linearizable prefix, in order) and 'stuck'
    (the op that could not be placed after it) for INVALID."""
    n = len(ops)
    events = sorted([(op.call, 0, op.id) for op in ops] + [(op.ret, 1, op.id) for op in ops])
    size = 2 * n + 1
    nxt, prv = list(range(1, size + 1)), list(range(-1, size - 1))
    nxt[size - 1] = -1
    is_call, opid, match = [False] * size, [0] * size, [0] * size
    call_at, ret_at = [0] * n, [0] * n
    for k, (_, kind, i) in enumerate(events, start=1):
        is_call[k], opid[k] = kind == 0, i
        if kind == 0:
            call_at[i] = k
        else:
            ret_at[i] = k
    for i in range(n):
        match[call_at[i]] = ret_at[i]

    def lift(k):
        for e in (k, match[k]):
            p, q = prv[e], nxt[e]
            nxt[p] = q
            if q != -1:
                prv[q] = p

    def unlift(k):
        for e in (match[k], k):
            p, q = prv[e], nxt[e]
            nxt[p] = e
            if q != -1:
                prv[q] = e

    state, lin, stack, cache = init, 0, [], set()
    best = (-1, [], None)
    entry, steps = nxt[0], 0
    while nxt[0] != -1:
        steps += 1
        if steps > max_steps or (deadline is not None and steps % 4096 == 0 and time.monotonic() > deadline):
            return UNKNOWN, {"steps": steps}
        if is_call[entry]:
            i = opid[entry]
            ok, new_state = step(state, ops[i])
            if ok:
                new_lin = lin | (1 << i)
                key = (new_lin, new_state)
                if key not in cache:
                    cache.add(key)
                    stack.append((entry, state))
                    state, lin = new_state, new_lin
                    lift(entry)
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
        else:
            if len(stack) > best[0]:
                best = (len(stack), [ops[opid[e]] for e, _ in stack], ops[opid[entry]])
            if not stack:
                break
            entry, state = stack.pop()
            lin &= ~(1 << opid[entry])
            unlift(entry)
            entry = nxt[entry]
    else:
        return VALID, {"steps": steps}
    return INVALID, {"steps": steps, "prefix": best[1], "stuck": best[2]}


def check_key(ops, max_steps=2_000_000, deadline=None):
    """Verdict for one key's paired ops: (verdict, detail dict)."""
    prepared = prepare(ops)
    if all(op.f in ("read", "write") for op in prepared):
        verdict, culprit = check_zones(prepared)
        if verdict is VALID:
            return VALID, {"method": "zones", "ops": len(prepared)}
        # Search again for a readable explanation (prefix and stuck op).
        v2, info = check_wgl(prepared, max_steps=max_steps, deadline=deadline)
        info.update(method="zones+wgl", ops=len(prepared), zone_culprit=culprit.src if culprit else None)
        if v2 is VALID:  # the two methods disagree: a checker bug, never a pass
            return UNKNOWN, dict(info, error="zone test and search disagree")
        return INVALID, info
    verdict, info = check_wgl(prepared, max_steps=max_steps, deadline=deadline)
    info.update(method="wgl", ops=len(prepared))
    return verdict, info


def check(paired, max_steps_per_key=2_000_000, time_budget_s=120.0):
    """Checks every key. Returns a JSON-able verdict dict with valid
    True/False/'unknown'."""
    deadline = time.monotonic() + time_budget_s
    by_key = {}
    for op in paired:
        if op["f"] in ("read", "write", "cas"):
            by_key.setdefault(op["key"], []).append(op)
    failures, unknown, methods = [], [], {}
    for key in sorted(by_key, key=str):
        verdict, info = check_key(by_key[key], max_steps_per_key, deadline)
        methods[info["method"]] = methods.get(info["method"], 0) + 1
        if verdict is INVALID:
            failures.append({"key": key,
                             "prefix": [op.src for op in info.get("prefix", [])],
                             "stuck": info["stuck"].src if info.get("stuck") else None,
                             "steps": info.get("steps")})
        elif verdict is UNKNOWN:
            unknown.append({"key": key, "why": info.get("error", "budget exhausted"),
                            "steps": info.get("steps")})
    valid = INVALID if failures else (UNKNOWN if unknown else VALID)
    return {"valid": valid, "keys": len(by_key), "ops": len(paired), "methods": methods,
            "failures": failures[:10], "failure_count": len(failures), "unknown": unknown[:10]}
