# rkv's chaos and partition suite: a real rkvd per network namespace, nemeses
# that cut real connections, workloads that record every operation, and
# checkers that judge the history. Entry point: jepsen/run.
