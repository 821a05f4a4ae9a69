"""Process faults: kill -9 then restart, SIGSTOP then SIGCONT, and killing
every node at once (a crash of the whole cluster; unsynced page-cache data
survives it, so this is not a full power loss)."""
import signal
import time


def pick(ctx, fault):
    """A random running node, or the leader of a random data partition."""
    alive = [i for i in sorted(ctx.net.ips) if ctx.cluster.alive(i) and not ctx.cluster.nodes[i].paused]
    if fault.endswith("leader"):
        leaders = {p: l for p, l in ctx.cluster.leaders().items() if p != 0 and l in alive}
        if leaders:
            p = ctx.rng.choice(sorted(leaders))
            return leaders[p], p
    return ctx.rng.choice(alive), None


class Kill:
    faults = ["kill-random", "kill-leader"]

    def __init__(self, ctx):
        self.ctx, self.killed = ctx, []

    def start(self, fault):
        i, p = pick(self.ctx, fault)
        self.ctx.cluster.kill(i)
        self.killed.append(i)
        return {"node": i, "leader_of": p}

    def stop(self):
        restarted = []
        for i in self.killed:
            self.ctx.cluster.start(i)
            restarted.append(i)
        self.killed = []
        return {"restarted": restarted} if restarted else {}


class Pause:
    faults = ["pause-random", "pause-leader"]

    def __init__(self, ctx):
        self.ctx, self.paused = ctx, []

    def start(self, fault):
        i, p = pick(self.ctx, fault)
        self.ctx.cluster.signal(i, signal.SIGSTOP)
        self.paused.append(i)
        return {"node": i, "leader_of": p}

    def stop(self):
        resumed = []
        for i in self.paused:
            self.ctx.cluster.signal(i, signal.SIGCONT)
            resumed.append(i)
        self.paused = []
        return {"resumed": resumed} if resumed else {}


class CrashAll:
    faults = ["crash-all"]

    def __init__(self, ctx):
        self.ctx, self.down = ctx, False

    def start(self, fault):
        ids = sorted(self.ctx.net.ips)
        for i in ids:
            self.ctx.cluster.signal(i, signal.SIGKILL)
        for i in ids:
            p = self.ctx.cluster.nodes[i].proc
            if p is not None:
                p.wait(timeout=10)
        self.down = True
        return {"nodes": ids}

    def stop(self):
        if not self.down:
            return {}
        time.sleep(0.2)
        self.ctx.cluster.start_all()
        self.down = False
        return {"restarted": sorted(self.ctx.net.ips)}
