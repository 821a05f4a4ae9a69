"""Disk faults on one node (a minority), using the failpoints compiled into
test builds (server/failpoint.h) and direct damage to data files.

failpoint: error / panic / delay / pause at the log sync, apply and
  snapshot points. A node that aborts on purpose is an injected crash and is
  restarted (with the point cleared) when the window ends.
fsync:     log-sync-before=error: an fsync failure; the node must stop
  (RKV_CHECK) rather than acknowledge anything it did not persist.
corrupt:   kills a running node, copies its files, flips bytes in (or
  truncates) one of its RocksDB files, restarts it. It must refuse to start
  (a checksum error) or serve correct data; it must never serve a corrupt
  value (the workload checker would see it). A node that refused is restored
  from the copy when the window ends, as an operator restores a node from its
  backup (it never ran on the damaged files, so the copy is its exact state).
  A node that started keeps its damage (it has moved on, and rolling it back
  would undo what it persisted) and may stop on a checksum error later; from
  then on only that node is damaged again, so the damage stays on a minority."""
import glob
import os
import shutil

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

    def backup_dir(self, i):
        return self.ctx.cluster.data_dir(i) + ".before-damage"

    def start(self, fault):
        c, rng = self.ctx.cluster, self.ctx.rng
        up = [i for i in sorted(self.ctx.net.ips) if c.alive(i)]
        damaged = [i for i in sorted(self.ctx.net.ips) if c.nodes[i].damaged]
        if damaged:
            up = [i for i in up if i in damaged]
        if not up:
            return {"damaged": None, "why": "no node that may be damaged is running"}
        i = rng.choice(up)
        c.kill(i)
        self.node = i
        pattern = "*.sst" if "sst" in fault else "*.log"
        files = sorted(f for f in glob.glob(os.path.join(c.data_dir(i), "**", pattern), recursive=True)
                       if os.path.getsize(f) > 64)
        if not files:
            c.start(i)
            return {"node": i, "damaged": None}
        shutil.rmtree(self.backup_dir(i), ignore_errors=True)
        shutil.copytree(c.data_dir(i), self.backup_dir(i), symlinks=True)
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
        c.start(i)
        c.nodes[i].expected_exit = True  # it may rightly refuse to start
        return {"node": i, "file": os.path.relpath(path, c.data_dir(i)), "damage": what}

    def stop(self):
        if self.node is None:
            return {}
        c = self.ctx.cluster
        i, self.node = self.node, None
        backup = self.backup_dir(i)
        if c.alive(i):
            c.nodes[i].expected_exit = False
            # Unless nothing was damaged (no file to damage), it keeps its damage.
            c.nodes[i].damaged |= os.path.isdir(backup)
            shutil.rmtree(backup, ignore_errors=True)
            return {"node": i, "serving": True, "keeps_damage": c.nodes[i].damaged}
        code = c.nodes[i].proc.returncode if c.nodes[i].proc is not None else None
        if not os.path.isdir(backup):
            self.ctx.refused.add(i)
            return {"node": i, "serving": False, "exit": code, "restored": False}
        shutil.rmtree(c.data_dir(i))
        os.rename(backup, c.data_dir(i))
        c.start(i)
        return {"node": i, "serving": False, "exit": code, "restored": True}
