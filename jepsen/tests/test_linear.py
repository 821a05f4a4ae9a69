"""Self-tests of the linearizability checker: hand-written histories with
known verdicts, zone test against the search on random histories, and the
speed of a 10,000-op history over 100 keys."""
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness.checker import linear  # noqa: E402


def op(f, call, ret, value=None, result=None, type_="ok", key="k", process=0):
    return {"f": f, "key": key, "value": value, "result": result, "type": type_,
            "call": call, "ret": ret, "process": process}


def W(v, c, r, **kw):
    return op("write", c, r, value=v, **kw)


def R(v, c, r, **kw):
    return op("read", c, r, result=v, **kw)


def CAS(old, new, ok, c, r, **kw):
    return op("cas", c, r, value=[old, new], result=ok, **kw)


def verdict(ops):
    return linear.check(ops)["valid"]


class HandWritten(unittest.TestCase):
    def test_sequential_is_linearizable(self):
        self.assertIs(verdict([W(1, 0, 1), R(1, 2, 3), W(2, 4, 5), R(2, 6, 7)]), True)

    def test_concurrent_read_may_see_either(self):
        self.assertIs(verdict([W(1, 0, 1), W(2, 2, 10), R(1, 3, 4), R(2, 5, 6), R(2, 11, 12)]), True)

    def test_stale_read_is_caught(self):
        # w1 then w2 both complete; a later read returns 1.
        self.assertIs(verdict([W(1, 0, 1), W(2, 2, 3), R(1, 4, 5)]), False)

    def test_read_of_initial_after_write_is_caught(self):
        self.assertIs(verdict([W(1, 0, 1), R(None, 2, 3)]), False)

    def test_value_flip_flop_is_caught(self):
        # Concurrent writes, but two later reads disagree on the order.
        self.assertIs(verdict([W(1, 0, 5), W(2, 0, 5), R(1, 6, 7), R(2, 8, 9), R(1, 10, 11)]), False)

    def test_read_before_write_began_is_caught(self):
        self.assertIs(verdict([R(1, 0, 1), W(1, 2, 3)]), False)

    def test_lost_update_is_caught(self):
        # Two CAS from 0 both succeed: one update is lost.
        self.assertIs(verdict([W(0, 0, 1), CAS(0, 1, True, 2, 3), CAS(0, 2, True, 4, 5)]), False)

    def test_lost_update_concurrent_is_caught(self):
        self.assertIs(verdict([W(0, 0, 1), CAS(0, 1, True, 2, 6), CAS(0, 2, True, 3, 7), R(2, 8, 9)]), False)

    def test_cas_chain_is_linearizable(self):
        self.assertIs(verdict([W(0, 0, 1), CAS(0, 1, True, 2, 6), CAS(1, 2, True, 3, 7), R(2, 8, 9),
                               CAS(5, 6, False, 10, 11)]), True)

    def test_failed_compare_must_see_another_value(self):
        self.assertIs(verdict([W(0, 0, 1), CAS(0, 1, False, 2, 3)]), False)

    def test_unobserved_info_write_is_dropped(self):
        self.assertIs(verdict([W(1, 0, 1), W(2, 2, None, type_="info"), R(1, 5, 6)]), True)

    def test_observed_info_write_must_precede_observer(self):
        self.assertIs(verdict([W(1, 0, 1), W(2, 2, None, type_="info"), R(2, 5, 6), R(1, 7, 8)]), False)
        self.assertIs(verdict([W(1, 0, 1), W(2, 2, None, type_="info"), R(1, 3, 4), R(2, 5, 6)]), True)

    def test_unobserved_info_write_can_explain_failed_compare(self):
        # Found by a pause run: an info write that nobody read is still what a
        # later failed CAS may have seen.
        self.assertIs(verdict([W(415, 0, 1), W(417, 2, None, type_="info"), CAS(415, 420, False, 5, 6)]), True)
        self.assertIs(verdict([W(415, 0, 1), CAS(415, 420, False, 5, 6)]), False)

    def test_observed_info_cas_observes_the_info_write_it_compared(self):
        # Found by a failpoint run: nobody read 1181, but the info CAS
        # 1181 -> 1182 took effect (1182 was read), so the info write of 1181
        # happened before it.
        self.assertIs(verdict([W(1173, 0, 1), W(1181, 2, None, type_="info"),
                               CAS(1181, 1182, None, 3, None, type_="info"), R(1182, 8, 9)]), True)
        # Chains propagate; and the write must still come before the CAS.
        self.assertIs(verdict([W(1, 0, 1), W(2, 2, None, type_="info"), CAS(2, 3, None, 3, None, type_="info"),
                               CAS(3, 4, None, 4, None, type_="info"), R(4, 8, 9)]), True)
        self.assertIs(verdict([W(1, 0, 1), CAS(2, 3, None, 3, None, type_="info"), R(3, 8, 9),
                               W(2, 10, None, type_="info")]), False)

    def test_info_read_is_dropped(self):
        self.assertIs(verdict([W(1, 0, 1), R(7, 2, None, type_="info")]), True)

    def test_fail_is_dropped(self):
        self.assertIs(verdict([W(1, 0, 1), W(2, 2, 3, type_="fail"), R(1, 4, 5)]), True)

    def test_violation_reports_prefix_and_stuck_op(self):
        out = linear.check([W(1, 0, 1), W(2, 2, 3), R(1, 4, 5)])
        f = out["failures"][0]
        self.assertEqual(f["stuck"]["f"], "read")
        self.assertEqual([o["value"] for o in f["prefix"]], [1, 2])

    def test_keys_are_independent(self):
        self.assertIs(verdict([W(1, 0, 1, key="a"), R(None, 2, 3, key="b"), R(1, 4, 5, key="a")]), True)

    def test_budget_gives_unknown(self):
        ops = [W(i, 0, 100) for i in range(40)] + [CAS(1000, 1, True, 200, 201)]
        out = linear.check(ops, max_steps_per_key=1000)
        self.assertIn(out["valid"], (False, "unknown"))
        out = linear.check([W(i, 0, 100) for i in range(30)] + [R(3, 200, 201), CAS(3, 99, True, 0, 300)],
                           max_steps_per_key=50)
        self.assertEqual(out["valid"], "unknown")


def simulate(rng, keys, n_ops, procs, cas=True, fuzz=0.0):
    """A history of a real atomic register per key, run by `procs` concurrent
    processes; fuzz > 0 swaps some read results (likely invalid)."""
    state = {k: None for k in keys}
    t, next_value, ops, busy = 0, 0, [], {}
    pending = []
    while len(ops) < n_ops or pending:
        t += rng.randint(1, 3)
        if pending and (len(ops) >= n_ops or rng.random() < 0.5):
            o = pending.pop(rng.randrange(len(pending)))
            o["ret"] = t
            busy.pop(o["process"])
            continue
        free = [p for p in range(procs) if p not in busy]
        if not free:
            continue
        p = rng.choice(free)
        k = rng.choice(keys)
        kind = rng.choice(["read", "write", "cas"] if cas else ["read", "write"])
        # The operation takes effect now (between call and return).
        if kind == "read":
            o = R(state[k], t, None, key=k, process=p)
            if fuzz and rng.random() < fuzz:
                o["result"] = rng.choice([None, next_value - 1, next_value - 2])
        elif kind == "write":
            next_value += 1
            o = W(next_value, t, None, key=k, process=p)
            state[k] = next_value
        else:
            next_value += 1
            old = state[k] if rng.random() < 0.6 else next_value + 10**6
            ok = state[k] == old
            o = CAS(old, next_value, ok, t, None, key=k, process=p)
            if ok:
                state[k] = next_value
        # Call strictly before the effect: shift the call back a little.
        o["call"] = t - rng.random()
        busy[p] = o
        ops.append(o)
        pending.append(o)
    return ops


class Randomized(unittest.TestCase):
    def test_simulated_histories_are_linearizable(self):
        rng = random.Random(1)
        for _ in range(200):
            self.assertIs(verdict(simulate(rng, ["a", "b"], 40, 4)), True)

    def test_zone_test_agrees_with_search(self):
        rng = random.Random(2)
        disagreements = 0
        for _ in range(400):
            ops = simulate(rng, ["k"], 14, 3, cas=False, fuzz=0.25)
            prepared = linear.prepare(ops)
            zones, _ = linear.check_zones(prepared)
            search, _ = linear.check_wgl(prepared)
            disagreements += zones is not search
        self.assertEqual(disagreements, 0)

    def test_ten_thousand_ops_over_100_keys_is_fast(self):
        rng = random.Random(3)
        ops = simulate(rng, [f"k{i}" for i in range(100)], 10_000, 10)
        start = time.monotonic()
        out = linear.check(ops)
        took = time.monotonic() - start
        self.assertIs(out["valid"], True)
        self.assertEqual(out["ops"], 10_000)
        print(f"\n10,000 ops over 100 keys checked in {took:.2f} s", file=sys.stderr)
        self.assertLess(took, 5.0)


if __name__ == "__main__":
    unittest.main()
