"""Self-tests of the campaign tools: each run sees only its own network names
as leftovers (so two campaigns can share the machine), a live run's lock
keeps --cleanup and a second run with its prefix away, jepsen/matrix records
the folder of its own run, never a concurrent campaign's newer one, and
--summary gives the goals' figures over the recorded runs."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import matrix, netns  # noqa: E402


class NetworkNamesTest(unittest.TestCase):
    def tearDown(self):
        netns.configure()

    def test_a_prefix_claims_only_its_own_names(self):
        netns.configure("rkvj")
        for name in ("rkvjn1", "rkvjv5", "rkvjbr0"):
            self.assertTrue(netns._ours(name), name)
        # Another campaign's names, even when they start with "rkvj".
        for name in ("rkvj2n1", "rkvj2br0", "rkvbn1", "rkvjbr1", "rkvjx1", "eth0"):
            self.assertFalse(netns._ours(name), name)

    def test_names_follow_the_prefix(self):
        netns.configure("rkvb")
        self.assertEqual(netns.ns_name(3), "rkvbn3")
        self.assertEqual(netns.BRIDGE, "rkvbbr0")
        self.assertIn("rkvb", netns.FORWARD_RULE)
        self.assertTrue(netns._ours("rkvbv2"))
        self.assertFalse(netns._ours("rkvjv2"))

    def test_prefixes_that_would_overflow_interface_names_are_refused(self):
        for bad in ("", "RKV", "r", "rkvjtoolong", "1rkv", "rk-j"):
            with self.assertRaises(ValueError, msg=bad):
                netns.configure(bad)


class RunLockTest(unittest.TestCase):
    """A live run holds its prefix's lock: --cleanup and a second run with
    that prefix are refused, and are told the holder's PID."""

    def setUp(self):
        if not os.access("/run/lock", os.W_OK):
            self.skipTest("/run/lock is not writable (the suite runs as root)")
        netns.configure(f"rkvt{os.getpid() % 10000}")

    def tearDown(self):
        path = os.path.join("/run/lock", f"{netns.PREFIX}.run")
        netns.configure()
        if os.path.exists(path):
            os.remove(path)

    def test_a_second_holder_is_refused_with_the_first_ones_pid(self):
        held = netns.hold_run_lock()
        self.assertNotIsInstance(held, int)
        child = subprocess.run(
            [sys.executable, "-c",
             "import sys; sys.path.insert(0, sys.argv[1]); from harness import netns; "
             "netns.configure(sys.argv[2]); print(netns.hold_run_lock())",
             os.path.dirname(os.path.dirname(os.path.abspath(__file__))), netns.PREFIX],
            capture_output=True, text=True, check=True)
        self.assertEqual(child.stdout.strip(), str(os.getpid()))
        held.close()
        again = netns.hold_run_lock()
        self.assertNotIsInstance(again, int)
        again.close()


class RunFolderTest(unittest.TestCase):
    def test_picks_this_runs_folder_even_when_another_is_newer(self):
        with tempfile.TemporaryDirectory() as results:
            old = os.path.join(results, "20261206T040000-set-kill-n5-s7")
            os.mkdir(old)
            before = {old}
            ours = os.path.join(results, "20261206T050000-set-kill-n5-s7")
            os.mkdir(ours)
            time.sleep(0.01)
            os.mkdir(os.path.join(results, "20261206T050001-register-kill-n3-s1007"))
            self.assertEqual(matrix.run_folder(results, before, "set", "kill", 5, 7), ours)
            mixed = os.path.join(results, "20261206T050002-register-clock+kill-n3-s9")
            os.mkdir(mixed)
            self.assertEqual(matrix.run_folder(results, before, "register", "clock,kill", 3, 9), mixed)
            self.assertIsNone(matrix.run_folder(results, before, "set", "pause", 5, 8))


class SummaryTest(unittest.TestCase):
    def test_goal_figures_over_the_recorded_runs(self):
        with tempfile.TemporaryDirectory() as jepsen:
            os.mkdir(os.path.join(jepsen, "results"))
            record = os.path.join(jepsen, "RUNS.md")
            runs = {"20261206T050000-register-kill-n3-s1": (True, [
                        {"fault": "kill-leader", "longest_no_ok_s": 1.2, "first_ok_write_after_end_s": 0.1,
                         "new_terms_after_end": 0, "node": 2, "caught_up_after_end_s": 0.5}]),
                    "20261206T051000-set-partition-n5-s2": (False, [
                        {"fault": "isolate-one", "longest_no_ok_s": 3.5, "first_ok_write_after_end_s": 0.0,
                         "new_terms_after_end": 1, "node": 4, "caught_up_after_end_s": 2.0}])}
            with open(record, "w") as f:
                f.write(matrix.HEADER)
                for name, (valid, faults) in runs.items():
                    os.mkdir(os.path.join(jepsen, "results", name))
                    with open(os.path.join(jepsen, "results", name, "verdicts.json"), "w") as v:
                        json.dump({"valid": valid, "workload": {"valid": valid, "check_seconds": 0.5},
                                   "convergence": {"valid": True, "catch_up_after_heal_s": 4.0},
                                   "stats": {"recovery_per_fault": faults}}, v)
                    f.write(f"| 2026-12-06 | abc | w | n | 3 | 300 | 10 | 2 | 1 | 1 | 0.1 | "
                            f"{'PASS' if valid else 'FAIL (exit 1)'} | {name} |\n")
            text = matrix.summary(record)
            self.assertIn("runs: 2 (1 pass, 1 fail)", text)
            self.assertIn("operations: 20 ok, 4 fail, 2 info", text)
            self.assertIn("workload: 20261206T051000-set-partition-n5-s2", text)
            self.assertIn("2 faults, median 3.50 s, max 3.50 s, 1 over the 3 s goal", text)
            self.assertIn("isolated node rejoined: 1 times, new terms within 5 s after: 1", text)
            self.assertIn("killed or paused node came back: 1 times, new terms within 5 s after: 0", text)
            self.assertNotIn("combined nemeses", text)
            # A run of combined nemeses is counted apart.
            name = "20261206T052000-register-kill+partition-n3-s3"
            os.mkdir(os.path.join(jepsen, "results", name))
            with open(os.path.join(jepsen, "results", name, "verdicts.json"), "w") as v:
                json.dump({"valid": True, "workload": {"valid": True}, "stats": {"recovery_per_fault": [
                    {"fault": "kill-random", "longest_no_ok_s": 7.0, "first_ok_write_after_end_s": 9.0}]}}, v)
            with open(record, "a") as f:
                f.write(f"| 2026-12-06 | abc | register | kill, partition | 3 | 300 | 1 | 0 | 0 | 1 | 9 | PASS | {name} |\n")
            text = matrix.summary(record)
            single, combined = text.split("runs of combined nemeses")
            self.assertIn("2 faults, median 3.50 s, max 3.50 s, 1 over the 3 s goal", single)
            self.assertIn("1 faults, median 7.00 s, max 7.00 s, 1 over the 3 s goal", combined)


if __name__ == "__main__":
    unittest.main()
