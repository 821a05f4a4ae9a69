"""append (monotonic): per-key append-only lists of unique elements, appended
with a compare-and-set Txn on the list read just before. Every two reads of a
key are ordered by prefix (one is a prefix of the other), each process's
reads of a key only grow, and every acknowledged append is in the final read."""
import itertools
import threading

KEYS = 4


def parse(text):
    return [int(x) for x in text.split(",") if x] if text else []


class Append:
    name = "append"

    def __init__(self, rng, opts):
        self.rng = rng
        self.counter = itertools.count(1)
        self.lock = threading.Lock()
        self.finals = {}

    def generate(self, process):
        with self.lock:
            k = f"a{self.rng.randrange(KEYS)}"
            if self.rng.random() < 0.5:
                return "read", k, None
            return "append", k, next(self.counter)

    def invoke(self, client, f, key, value):
        if f == "read":
            out = client.get_raw(key)
            if out.type == "ok":
                out.value = parse(out.value)
            return out
        cur = client.get_raw(key)
        if cur.type != "ok":
            cur.type = "fail"
            return cur
        from ..client import kv_pb2
        k = key.encode()
        new = (cur.value + "," if cur.value else "") + str(value)
        if cur.value is None:
            cmp = kv_pb2.Compare(key=k, target=kv_pb2.Compare.VERSION, result=kv_pb2.Compare.EQUAL, version=0)
        else:
            cmp = kv_pb2.Compare(key=k, target=kv_pb2.Compare.VALUE, result=kv_pb2.Compare.EQUAL,
                                 value=cur.value.encode())
        out = client.txn(kv_pb2.TxnRequest(compare=[cmp], success=[
            kv_pb2.RequestOp(put=kv_pb2.PutRequest(key=k, value=new.encode()))]))
        if out.type == "ok":
            out.value = bool(out.value.succeeded)
        return out

    def record_value(self, f, value, outcome):
        return outcome.value

    def setup(self, clients):
        pass

    def final(self, clients, history):
        for k in (f"a{i}" for i in range(KEYS)):
            for attempt in range(20):
                c = clients[attempt % len(clients) + 1]
                history.append("final", "invoke", "read", k)
                out = c.get_raw(k)
                if out.type == "ok":
                    self.finals[k] = parse(out.value)
                    history.append("final", "ok", "read", k, self.finals[k])
                    break
                history.append("final", "fail", "read", k, error=out.error)

    def check(self, paired, budget_s=0):
        errors = []
        by_key = {}
        for op in paired:
            if op["f"] == "read" and op["type"] == "ok":
                by_key.setdefault(op["key"], []).append(op)
        for k, reads in by_key.items():
            lists = sorted({tuple(op["result"]) for op in reads}, key=len)
            for a, b in zip(lists, lists[1:]):
                if b[:len(a)] != a:
                    errors.append({"key": k, "why": "two reads are not prefix-ordered", "a": a, "b": b})
                    break
            last = {}
            for op in sorted(reads, key=lambda o: o["call"]):
                prev = last.get(op["process"])
                r = op["result"]
                if prev is not None and r[:len(prev)] != prev:
                    errors.append({"key": k, "why": "a process's read went backwards", "process": op["process"],
                                   "before": prev, "after": r})
                last[op["process"]] = r
            for r in (op["result"] for op in reads):
                if len(set(r)) != len(r):
                    errors.append({"key": k, "why": "an element appears twice", "read": r})
                    break
        acked = {}
        for op in paired:
            if op["f"] == "append" and op["type"] == "ok" and op["result"]:
                acked.setdefault(op["key"], set()).add(op["value"])
        lost = {}
        for k, values in acked.items():
            if k not in self.finals:
                errors.append({"key": k, "why": "no final read"})
                continue
            missing = sorted(values - set(self.finals[k]))
            if missing:
                lost[k] = missing
        valid = not errors and not lost
        return {"valid": valid, "errors": errors[:20], "lost": lost,
                "appends_ok": sum(len(v) for v in acked.values()),
                "reads": sum(len(v) for v in by_key.values())}
