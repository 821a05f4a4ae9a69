"""set: unique inserts (a Put of a fresh key under one prefix), then one final
linearizable Range after the faults heal. Every acknowledged insert must be
present; nothing that was never attempted may be; indeterminate inserts may
go either way."""
import itertools
import threading


class Set:
    name = "set"
    PREFIX = "set/"

    def __init__(self, rng, opts):
        self.counter = itertools.count(1)
        self.lock = threading.Lock()
        self.final_read = None

    def generate(self, process):
        with self.lock:
            n = next(self.counter)
        return "add", f"{self.PREFIX}{n:09d}", n

    def invoke(self, client, f, key, value):
        return client.put(key, value)

    def record_value(self, f, value, outcome):
        return value

    def setup(self, clients):
        pass

    def final(self, clients, history):
        for attempt in range(20):
            c = clients[attempt % len(clients) + 1]
            op = history.append("final", "invoke", "read-all", self.PREFIX)
            out = c.range_prefix(self.PREFIX)
            if out.type == "ok":
                self.final_read = sorted(int(v) for v in out.value.values())
                history.append("final", "ok", "read-all", self.PREFIX, len(self.final_read))
                return
            history.append("final", out.type, "read-all", self.PREFIX, error=out.error)
            del op

    def check(self, paired, budget_s=0):
        adds = [op for op in paired if op["f"] == "add"]
        if self.final_read is None:
            return {"valid": "unknown", "why": "the final read never succeeded"}
        present = set(self.final_read)
        acked = {op["value"] for op in adds if op["type"] == "ok"}
        attempted = {op["value"] for op in adds}
        info = {op["value"] for op in adds if op["type"] == "info"}
        lost = sorted(acked - present)
        unexpected = sorted(present - attempted)
        failed_present = sorted(present & {op["value"] for op in adds if op["type"] == "fail"})
        return {"valid": not lost and not unexpected and not failed_present,
                "attempted": len(attempted), "acknowledged": len(acked), "present": len(present),
                "indeterminate": len(info), "indeterminate_present": len(info & present),
                "lost": lost[:50], "lost_count": len(lost), "unexpected": unexpected[:50],
                "failed_but_present": failed_present[:50]}
