"""Nemeses and their scheduler.

A nemesis offers named faults: start(fault) begins one and returns a
description; stop() undoes whatever it started (idempotent). The scheduler
alternates quiet periods and fault windows; with several nemeses it
sometimes runs two at once. Every event goes to the nemesis log and the
history (process "nemesis")."""
import json
import threading
import time


def build(names, ctx):
    from . import clock, disk, membership, netqual, partition, process
    table = {
        "partition": partition.Partition, "kill": process.Kill, "pause": process.Pause,
        "crash-all": process.CrashAll, "loss": netqual.Loss, "delay": netqual.ProxyFaults,
        "clock": clock.Clock, "failpoint": disk.Failpoints, "fsync": disk.FsyncError,
        "corrupt": disk.Corrupt, "transfer": membership.Transfer, "none": None,
    }
    out = []
    for n in names:
        if n not in table:
            raise SystemExit(f"unknown nemesis {n!r}; choose from {', '.join(sorted(table))}")
        if table[n] is not None:
            out.append(table[n](ctx))
    return out


# Every fault-injecting nemesis build() knows ("none" aside), for jepsen/matrix.
ALL = ("partition", "kill", "pause", "crash-all", "loss", "delay", "clock", "failpoint", "fsync",
       "corrupt", "transfer")
NEEDS_PROXY = {"delay"}
NEEDS_FAKETIME = {"clock"}


class Scheduler(threading.Thread):
    def __init__(self, nemeses, ctx, rng, duration_s, interval_s, log_path):
        super().__init__(name="nemesis", daemon=True)
        self.nemeses, self.ctx, self.rng = nemeses, ctx, rng
        self.duration, self.interval = duration_s, interval_s
        self.log = open(log_path, "w")
        self.stop_event = threading.Event()
        self.windows = []   # {"fault", "start", "stop" (ns), "detail"}
        self.errors = []
        self.lock = threading.Lock()

    def record(self, what, **detail):
        t = self.ctx.history.now()
        entry = {"time": t, "wall": round(time.time(), 6), "event": what, **detail}
        with self.lock:
            self.log.write(json.dumps(entry, default=str) + "\n")
            self.log.flush()
        self.ctx.history.append("nemesis", "info", what, value=detail)
        return t

    def wait(self, seconds):
        return self.stop_event.wait(seconds)

    def run(self):
        end = time.monotonic() + self.duration
        try:
            while not self.stop_event.is_set() and time.monotonic() + self.interval < end:
                if self.wait(self.interval * self.rng.uniform(0.6, 1.2)):
                    break
                if end - time.monotonic() < 1.0:
                    break
                active = [self.rng.choice(self.nemeses)]
                if len(self.nemeses) > 1 and self.rng.random() < 0.3:
                    other = self.rng.choice([n for n in self.nemeses if n is not active[0]])
                    active.append(other)
                started = []
                for n in active:
                    fault = self.rng.choice(n.faults)
                    try:
                        detail = n.start(fault) or {}
                    except Exception as e:  # a nemesis that cannot act is reported, not fatal
                        self.errors.append(f"{fault}: {e}")
                        self.record("nemesis-error", fault=fault, error=str(e))
                        continue
                    t = self.record("start", fault=fault, **detail)
                    started.append((n, fault, t, detail))
                hold = self.interval * self.rng.uniform(0.8, 1.6)
                self.wait(min(hold, max(0.0, end - time.monotonic())))
                for n, fault, t, detail in started:
                    self._end_fault(n, fault, t, detail)
        finally:
            self.heal_all()

    def _end_fault(self, n, fault, t, detail):
        try:
            out = n.stop() or {}
        except Exception as e:
            out = {"error": str(e)}
            self.errors.append(f"stop {fault}: {e}")
        t2 = self.record("stop", fault=fault, **out)
        self.windows.append({"fault": fault, "start": t, "stop": t2, "detail": detail})

    def heal_all(self):
        for n in self.nemeses:
            try:
                n.stop()
            except Exception as e:
                self.errors.append(f"final heal: {e}")
        self.record("heal-all")
