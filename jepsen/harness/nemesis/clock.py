"""Clock faults on one node through libfaketime (Debian's faketime): the
node runs with LD_PRELOAD and a timestamp file; a skew writes an offset, a
strobe flips it back and forth. Only the wall clock is faked
(FAKETIME_DONT_FAKE_MONOTONIC=1), as an NTP step would move it. What
this tests: no correctness depends on wall-clock agreement (TTL expiry, log
timestamps), and a step does not stall a node's Raft timers, which run on
the monotonic clock (the convergence check catches a node that stopped
ticking)."""
import threading


class Clock:
    faults = ["skew", "strobe"]

    def __init__(self, ctx):
        self.ctx, self.node, self.thread, self.stop_event = ctx, None, None, threading.Event()

    def _set(self, i, offset_s):
        with open(self.ctx.cluster.faketime_file(i), "w") as f:
            f.write(f"{offset_s:+d}s\n" if offset_s else "+0\n")

    def start(self, fault):
        i = self.ctx.rng.choice(sorted(self.ctx.net.ips))
        self.node = i
        if fault == "skew":
            offset = self.ctx.rng.choice([-300, -30, 30, 300, 3600])
            self._set(i, offset)
            return {"node": i, "offset_s": offset}
        self.stop_event.clear()

        def strobe():
            flip = False
            while not self.stop_event.wait(0.3):
                flip = not flip
                self._set(i, 120 if flip else -120)

        self.thread = threading.Thread(target=strobe, daemon=True)
        self.thread.start()
        return {"node": i, "strobe_s": 120}

    def stop(self):
        if self.node is None:
            return {}
        self.stop_event.set()
        if self.thread:
            self.thread.join(timeout=2)
            self.thread = None
        self._set(self.node, 0)
        self.node = None
        return {"healed": True}
