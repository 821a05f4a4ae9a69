# Checkers: linearizability (linear.py), workload invariants (workloads/*),
# convergence and Raft log invariants (convergence.py, raftlog.py).
