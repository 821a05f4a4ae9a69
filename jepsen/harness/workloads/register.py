"""register: many keys, each a register of unique integers; read (Get with
ReadIndex), write (Put) and compare-and-set (Txn). Checked for
linearizability key by key (checker/linear.py).

Interface shared by every workload:
  generate(process) -> (f, key, value)    the next operation to invoke
  invoke(client, f, key, value) -> Outcome
  setup(clients), final(clients, history) optional phases
  check(paired) -> {"valid": True/False/"unknown", ...}
"""
import threading

from ..checker import linear


class Register:
    name = "register"

    def __init__(self, rng, opts):
        self.rng = rng
        self.lock = threading.Lock()
        self.active_keys = opts.get("keys", 8)
        self.ops_per_key = opts.get("ops_per_key", 300)
        self.next_key = 0
        self.keys = {}       # key -> ops generated so far
        self.recent = {}     # key -> recently written values (CAS expectations)
        self.next_value = 0
        for _ in range(self.active_keys):
            self._new_key()

    def _new_key(self):
        k = f"r{self.next_key}"
        self.next_key += 1
        self.keys[k] = 0
        self.recent[k] = [None]

    def generate(self, process):
        with self.lock:
            k = self.rng.choice(sorted(self.keys))
            self.keys[k] += 1
            if self.keys[k] >= self.ops_per_key:
                del self.keys[k]
                self._new_key()
            roll = self.rng.random()
            if roll < 0.5:
                return "read", k, None
            self.next_value += 1
            v = self.next_value
            if roll < 0.8:
                self.recent[k] = (self.recent[k] + [v])[-3:]
                return "write", k, v
            expected = self.rng.choice([x for x in self.recent[k] if x is not None] or [0])
            self.recent[k] = (self.recent[k] + [v])[-3:]
            return "cas", k, [expected, v]

    def invoke(self, client, f, key, value):
        if f == "read":
            return client.get(key)
        if f == "write":
            return client.put(key, value)
        return client.cas(key, value[0], value[1])

    def record_value(self, f, value, outcome):
        """What the history stores as the completion's value."""
        if f == "write":
            return value
        return outcome.value

    def setup(self, clients):
        pass

    def final(self, clients, history):
        pass

    def check(self, paired, budget_s=120.0):
        for op in paired:
            # A write's completion carries the revision; the model needs the value.
            if op["f"] == "write":
                op["result"] = None
        return linear.check(paired, time_budget_s=budget_s)
