"""Self-tests of the per-fault recovery figures in verdicts.json: new terms
after a fault ends (a rejoining node must not disrupt) and how long the node a
fault hit took to catch up, from hand-made monitor samples."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import report  # noqa: E402

S = int(report.NS)


def sample(t_s, node, partition, term, commit, applied):
    # (t ns, node, partition, role, term, commit, applied, leader) as the monitor keeps them
    return (int(t_s * S), node, partition, 1, term, commit, applied, 1)


def write_ok(t_s):
    return {"type": "ok", "f": "write", "call": int(t_s * S) - 1000, "ret": int(t_s * S)}


class RecoveryTest(unittest.TestCase):
    def test_isolated_follower_that_rejoins_quietly(self):
        window = {"fault": "isolate-one", "start": 10 * S, "stop": 16 * S, "detail": {"isolated": 3}}
        samples = [sample(t, n, 1, 2, 100, 100) for t in (9, 10, 15.5) for n in (1, 2, 3)]
        # Node 3 fell behind while cut off, then catches up 1.5 s after the heal.
        samples += [sample(16.5, 3, 1, 2, 100, 60), sample(17.5, 3, 1, 2, 130, 120)]
        samples += [sample(t, n, 1, 2, 130, 130) for t in (16.5, 17) for n in (1, 2)]
        out = report.recovery_per_fault([write_ok(16.2)], [window], samples)[0]
        self.assertEqual(out["new_terms_after_end"], 0)
        self.assertEqual(out["node"], 3)
        self.assertEqual(out["caught_up_after_end_s"], 1.5)
        self.assertEqual(out["first_ok_write_after_end_s"], 0.2)

    def test_a_disruptive_rejoin_is_counted_but_the_next_faults_elections_are_not(self):
        windows = [{"fault": "isolate-one", "start": 10 * S, "stop": 16 * S, "detail": {"isolated": 2}},
                   {"fault": "kill-leader", "start": 19 * S, "stop": 24 * S, "detail": {"node": 1}}]
        samples = [sample(9, 1, 1, 2, 50, 50), sample(9, 1, 2, 4, 50, 50),
                   sample(17, 1, 1, 3, 60, 60),    # partition 1's term rose after the heal
                   sample(19.5, 2, 2, 5, 60, 60)]  # partition 2's rose in the next fault
        out = report.recovery_per_fault([], windows, samples)
        self.assertEqual(out[0]["new_terms_after_end"], 1)
        self.assertIsNone(out[0]["caught_up_after_end_s"])  # node 2 never reported again

    def test_without_samples_only_the_client_figures(self):
        window = {"fault": "halves", "start": 1 * S, "stop": 2 * S, "detail": {"groups": [[1], [2, 3]]}}
        out = report.recovery_per_fault([write_ok(2.5)], [window])[0]
        self.assertNotIn("new_terms_after_end", out)
        self.assertEqual(out["first_ok_write_after_end_s"], 0.5)
        self.assertIsNone(report.affected_node(window))


if __name__ == "__main__":
    unittest.main()
