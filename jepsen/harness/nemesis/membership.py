"""Leadership transfer, repeated: during the window a background thread asks
the leader of a random partition to hand over to another replica, about
twice a second."""
import threading


class Transfer:
    faults = ["transfer-leader"]

    def __init__(self, ctx):
        self.ctx = ctx
        self.thread, self.stop_event, self.count = None, threading.Event(), 0

    def _loop(self):
        ctx = self.ctx
        while not self.stop_event.wait(0.5):
            leaders = ctx.cluster.leaders()
            if not leaders:
                continue
            p = ctx.rng.choice(sorted(leaders))
            leader = leaders[p]
            others = [i for i in sorted(ctx.net.ips) if i != leader]
            to = ctx.rng.choice(others)
            try:
                ctx.cluster.admin[leader].transfer_leader(p, to)
                self.count += 1
            except Exception:
                pass  # the replica set may not include `to`, or leadership moved

    def start(self, fault):
        self.stop_event.clear()
        self.count = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return {}

    def stop(self):
        if self.thread is None:
            return {}
        self.stop_event.set()
        self.thread.join(timeout=5)
        self.thread = None
        return {"transfers": self.count}
