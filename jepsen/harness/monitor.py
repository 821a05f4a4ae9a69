"""Samples every node's view of its replicas (Cluster.PartitionList) twice a
second: the leaders timeline for the report, and the Raft invariants that
can be seen from outside: at most one leader per partition and term, and a
replica's term and commit index never go backwards."""
import threading


class Monitor(threading.Thread):
    def __init__(self, cluster, history, period_s=0.5):
        super().__init__(name="monitor", daemon=True)
        self.cluster, self.history, self.period = cluster, history, period_s
        self.stop_event = threading.Event()
        self.samples = []      # (t ns, node, partition, role, term, commit, applied, leader)
        self.violations = []
        self._last = {}        # (node, partition) -> (term, commit)
        self._leaders = {}     # (partition, term) -> leader node

    def run(self):
        while not self.stop_event.wait(self.period):
            self.sample()

    def sample(self):
        t = self.history.now()
        for node, parts in self.cluster.partitions_view().items():
            for p in parts:
                for r in p.replicas:
                    if r.member_id != node or r.term == 0:
                        continue
                    self.samples.append((t, node, p.id, int(r.role), r.term, r.commit_index,
                                         r.applied_index, p.leader_id))
                    key = (node, p.id)
                    prev = self._last.get(key)
                    if prev and (r.term < prev[0] or r.commit_index < prev[1]):
                        self.violations.append(
                            {"t": t, "node": node, "partition": p.id, "why": "term or commit went backwards",
                             "before": {"term": prev[0], "commit": prev[1]},
                             "after": {"term": r.term, "commit": r.commit_index}})
                    self._last[key] = (r.term, r.commit_index)
                    if r.role == 3:  # LEADER
                        other = self._leaders.setdefault((p.id, r.term), node)
                        if other != node:
                            self.violations.append({"t": t, "partition": p.id, "term": r.term,
                                                    "why": "two leaders in one term", "leaders": [other, node]})

    def leader_changes(self):
        """[(t, partition, leader)] whenever the observed leader changes."""
        out, last = [], {}
        for t, node, p, role, term, commit, applied, leader in self.samples:
            if role == 3 and last.get(p) != node:
                last[p] = node
                out.append((t, p, node))
        return out
