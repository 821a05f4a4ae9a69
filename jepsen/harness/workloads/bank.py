"""bank: accounts under one {hash tag} (one partition), transfers through a
Txn that compares both balances it read and writes both new ones. Reads read
every account in one Txn. The total never changes and no balance goes
negative in any read."""
import threading

from ..client import kv_pb2

ACCOUNTS = 5
INITIAL = 100


def account(i):
    return f"{{bank}}a{i}"


class Bank:
    name = "bank"

    def __init__(self, rng, opts):
        self.rng = rng
        self.lock = threading.Lock()

    def generate(self, process):
        with self.lock:
            if self.rng.random() < 0.4:
                return "read", "{bank}", None
            a, b = self.rng.sample(range(ACCOUNTS), 2)
            return "transfer", "{bank}", [a, b, self.rng.randint(1, 5)]

    def _read_request(self):
        return kv_pb2.TxnRequest(success=[kv_pb2.RequestOp(range=kv_pb2.RangeRequest(key=account(i).encode()))
                                          for i in range(ACCOUNTS)])

    @staticmethod
    def _balances(resp):
        out = []
        for r in resp.responses:
            kvs = r.range.kvs
            out.append(int(kvs[0].value) if kvs else None)
        return out

    def invoke(self, client, f, key, value):
        if f == "read":
            out = client.txn(self._read_request())
            if out.type == "ok":
                out.value = self._balances(out.value)
            elif out.type == "info":
                out.type = "fail"  # a read-only Txn changes nothing
            return out
        a, b, amount = value
        read = client.txn(self._read_request())
        if read.type != "ok":
            read.type = "fail"  # nothing was written yet
            return read
        balances = self._balances(read.value)
        if balances[a] is None or balances[b] is None or balances[a] < amount:
            read.type, read.value = "fail", "insufficient"
            return read
        cmp = [kv_pb2.Compare(key=account(i).encode(), target=kv_pb2.Compare.VALUE,
                              result=kv_pb2.Compare.EQUAL, value=str(balances[i]).encode()) for i in (a, b)]
        puts = [kv_pb2.RequestOp(put=kv_pb2.PutRequest(key=account(a).encode(),
                                                       value=str(balances[a] - amount).encode())),
                kv_pb2.RequestOp(put=kv_pb2.PutRequest(key=account(b).encode(),
                                                       value=str(balances[b] + amount).encode()))]
        out = client.txn(kv_pb2.TxnRequest(compare=cmp, success=puts))
        if out.type == "ok":
            out.value = bool(out.value.succeeded)
        return out

    def record_value(self, f, value, outcome):
        return outcome.value

    def setup(self, clients):
        req = kv_pb2.TxnRequest(success=[kv_pb2.RequestOp(put=kv_pb2.PutRequest(
            key=account(i).encode(), value=str(INITIAL).encode())) for i in range(ACCOUNTS)])
        for _ in range(50):
            for c in clients.values():
                if c.txn(req).type == "ok":
                    return
        raise RuntimeError("bank: could not write the initial balances")

    def final(self, clients, history):
        pass

    def check(self, paired, budget_s=0):
        total = ACCOUNTS * INITIAL
        reads = [op for op in paired if op["f"] == "read" and op["type"] == "ok"]
        bad = [op for op in reads if None in op["result"] or sum(op["result"]) != total
               or min(op["result"]) < 0]
        transfers = [op for op in paired if op["f"] == "transfer"]
        return {"valid": not bad and bool(reads), "reads": len(reads), "bad_reads": bad[:20],
                "bad_read_count": len(bad), "total": total,
                "transfers_ok": sum(1 for op in transfers if op["type"] == "ok" and op["result"]),
                "transfers_info": sum(1 for op in transfers if op["type"] == "info")}
