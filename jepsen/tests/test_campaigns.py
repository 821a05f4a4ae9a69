"""Self-tests of what lets two campaigns share the machine: each run sees
only its own network names as leftovers, and jepsen/matrix records the folder
of its own run, never a concurrent campaign's newer one."""
import os
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


if __name__ == "__main__":
    unittest.main()
