"""Disk faults on one node (a minority), using the failpoints compiled into
test builds (server/failpoint.h) and direct damage to data files.

failpoint: error / panic / delay / pause at the log sync, apply and
  snapshot points. A node that aborts on purpose is an injected crash and is
  restarted (with the point cleared) when the window ends.
fsync:     log-sync-before=error: an fsync failure; the node must stop
  (RKV_CHECK) rather than acknowledge anything it did not persist.
corrupt:   kills the node, flips bytes in (or truncates) one of its RocksDB
  files, restarts it. It must refuse to serve (a checksum error) or re-sync;
  it must never serve a corrupt value (the workload checker would see it)."""
import glob
import os

POINTS = [
    "log-sync-before=delay(300)", "log-sync-after=delay(300)", "apply-before=delay(200)",
    "apply-after=delay(200)", "log-sync-before=panic", "log-sync-after=panic", "apply-before=panic",
    "apply-after=panic", "apply-after=pause", "log-sync-after=pause", "snapshot-send=error",
    "snapshot-install=error", "log-sync-after=delay(50)@0.3",
]


class _OneNode:
    def __init__(self, ctx):
        self.ctx, self.node = ctx, None

    def _arm(self, i, spec):
        self.ctx.cluster.failpoints(i, spec)
        # An injected abort is not a bug.
        self.ctx.cluster.nodes[i].expected_exit = True
        self.node = i

    def stop(self):
        if self.node is None:
            return {}
        i, self.node = self.node, None
        c = self.ctx.cluster
        c.failpoints(i, "")
        out = {"node": i, "crashed": not c.alive(i)}
        if not c.alive(i):
            c.start(i)
            out["restarted"] = True
        else:
            c.nodes[i].expected_exit = False
        return out


class Failpoints(_OneNode):
    faults = ["failpoint"]

    def start(self, fault):
        i = self.ctx.rng.choice(sorted(self.ctx.net.ips))
        spec = self.ctx.rng.choice(POINTS)
        self._arm(i, spec)
        return {"node": i, "failpoint": spec}


class FsyncError(_OneNode):
    faults = ["fsync-error"]

    def start(self, fault):
        i = self.ctx.rng.choice(sorted(self.ctx.net.ips))
        self._arm(i, "log-sync-before=error")
        return {"node": i, "failpoint": "log-sync-before=error"}


class Corrupt:
    faults = ["flip-sst", "flip-wal", "truncate-sst"]

    def __init__(self, ctx):
        self.ctx, self.node = ctx, None

    def start(self, fault):
        c, rng = self.ctx.cluster, self.ctx.rng
        i = rng.choice(sorted(self.ctx.net.ips))
        c.kill(i)
        pattern = "*.sst" if "sst" in fault else "*.log"
        files = sorted(f for f in glob.glob(os.path.join(c.data_dir(i), "**", pattern), recursive=True)
                       if os.path.getsize(f) > 64)
        self.node = i
        if not files:
            c.start(i)
            return {"node": i, "damaged": None}
        path = rng.choice(files)
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            if fault == "truncate-sst":
                f.truncate(size // 2)
                what = f"truncated to {size // 2} of {size} bytes"
            else:
                offsets = sorted(rng.randrange(size) for _ in range(4))
                for off in offsets:
                    f.seek(off)
                    b = f.read(1)
                    f.seek(off)
                    f.write(bytes([b[0] ^ (1 << rng.randrange(8))]))
                what = f"flipped bits at {offsets}"
        c.nodes[i].expected_exit = True  # it may rightly refuse to start
        c.start(i)
        c.nodes[i].expected_exit = True
        return {"node": i, "file": os.path.relpath(path, c.data_dir(i)), "damage": what}

    def stop(self):
        if self.node is None:
            return {}
        i, self.node = self.node, None
        alive = self.ctx.cluster.alive(i)
        if alive:
            self.ctx.cluster.nodes[i].expected_exit = False
        else:
            self.ctx.refused.add(i)
        return {"node": i, "serving": alive}
