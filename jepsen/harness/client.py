"""gRPC calls to one rkvd with exact outcome classification.

A call ends in one of three ways (Jepsen's types):
  ok    the server answered;
  fail  the server guaranteed the request was never proposed
        (rkv-error-bin trailing metadata with not_proposed=true), or a read
        failed (reads change nothing);
  info  anything else: a timeout, a cut connection, "outcome unknown".
Writes are never retried here: the caller retires the process after info.
"""
import grpc

from . import protos

kv_pb2, kv_grpc, cluster_pb2, cluster_grpc, mt_pb2, mt_grpc = protos.load()


def prefix_end(prefix):
    """The first key after every key that starts with prefix (bytes)."""
    end = bytearray(prefix)
    while end and end[-1] == 0xFF:
        end.pop()
    if not end:
        return b"\0"  # every key
    end[-1] += 1
    return bytes(end)


class Outcome:
    __slots__ = ("type", "value", "error", "leader")

    def __init__(self, type_, value=None, error=None, leader=None):
        self.type, self.value, self.error, self.leader = type_, value, error, leader


def error_detail(err):
    """The ErrorDetail in a grpc.RpcError's trailing metadata, or None."""
    try:
        for key, value in err.trailing_metadata() or ():
            if key == "rkv-error-bin":
                d = kv_pb2.ErrorDetail()
                d.ParseFromString(value)
                return d
    except Exception:  # a cut connection may carry no metadata at all
        return None
    return None


def classify(err, is_write):
    """Outcome of a call that raised grpc.RpcError."""
    detail = error_detail(err)
    code = err.code() if hasattr(err, "code") else None
    text = f"{code.name if code else '?'}: {err.details() if hasattr(err, 'details') else err}"
    leader = detail.leader_id if detail is not None else None
    if detail is not None and detail.not_proposed:
        return Outcome("fail", error=text, leader=leader)
    if not is_write:
        # A read that did not answer changed nothing; it is dropped by the checker.
        return Outcome("info" if code in (grpc.StatusCode.DEADLINE_EXCEEDED,) else "fail",
                       error=text, leader=leader)
    return Outcome("info", error=text, leader=leader)


def _ival(b):
    return int(b.decode()) if b else None


class NodeClient:
    """Stubs for one node's client address. Thread-safe (gRPC stubs are)."""

    def __init__(self, address, timeout_s):
        self.address = address
        self.timeout = timeout_s
        self.channel = grpc.insecure_channel(address, options=[
            ("grpc.enable_retries", 0),
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 500),
        ])
        self.kv = kv_grpc.KVStub(self.channel)
        self.cluster = cluster_grpc.ClusterStub(self.channel)
        self.maintenance = mt_grpc.MaintenanceStub(self.channel)

    def close(self):
        self.channel.close()

    def _call(self, fn, is_write, parse):
        try:
            return Outcome("ok", parse(fn()))
        except grpc.RpcError as err:
            return classify(err, is_write)

    # --- single-key operations on integer values -------------------------
    def get(self, key):
        return self._call(lambda: self.kv.Get(kv_pb2.GetRequest(key=key.encode()), timeout=self.timeout),
                          False, lambda r: _ival(r.kv.value) if r.found else None)

    def get_raw(self, key):
        return self._call(lambda: self.kv.Get(kv_pb2.GetRequest(key=key.encode()), timeout=self.timeout),
                          False, lambda r: r.kv.value.decode() if r.found else None)

    def put(self, key, value):
        return self._call(lambda: self.kv.Put(kv_pb2.PutRequest(key=key.encode(), value=str(value).encode()),
                                              timeout=self.timeout), True, lambda r: r.revision)

    def cas(self, key, expected, new):
        """Txn: if value == expected then put new. Value: whether it swapped."""
        req = kv_pb2.TxnRequest(
            compare=[kv_pb2.Compare(key=key.encode(), target=kv_pb2.Compare.VALUE,
                                    result=kv_pb2.Compare.EQUAL, value=str(expected).encode())],
            success=[kv_pb2.RequestOp(put=kv_pb2.PutRequest(key=key.encode(), value=str(new).encode()))])
        return self._call(lambda: self.kv.Txn(req, timeout=self.timeout), True, lambda r: r.succeeded)

    def txn(self, request):
        return self._call(lambda: self.kv.Txn(request, timeout=self.timeout), True, lambda r: r)

    def range_prefix(self, prefix, page_keys=10000):
        """Every key with the prefix, following the server's pages (a page
        holds at most --max-range-keys, 10,000 by default). Each page is its
        own linearizable read, so call it when no writes run (a final read)."""
        start, end = prefix.encode(), prefix_end(prefix.encode())
        out = {}
        while True:
            req = kv_pb2.RangeRequest(key=start, range_end=end, limit=page_keys)
            page = self._call(lambda: self.kv.Range(req, timeout=self.timeout), False, lambda r: r)
            if page.type != "ok":
                return page
            out.update((kv.key.decode(), kv.value.decode()) for kv in page.value.kvs)
            if not page.value.more:
                return Outcome("ok", out)
            if page.value.next_key <= start:
                return Outcome("info", error="the server said more keys follow but gave no next_key past "
                                             f"{start!r}")
            start = page.value.next_key

    # --- admin ------------------------------------------------------------
    def partitions(self, timeout=1.0):
        return self.cluster.PartitionList(cluster_pb2.PartitionListRequest(), timeout=timeout).partitions

    def transfer_leader(self, partition_id, to, timeout=1.0):
        self.cluster.TransferLeader(cluster_pb2.TransferLeaderRequest(partition_id=partition_id,
                                                                      to_member_id=to), timeout=timeout)

    def partition_hash(self, partition_id, timeout=5.0):
        return self.maintenance.PartitionHash(mt_pb2.PartitionHashRequest(partition_id=partition_id),
                                              timeout=timeout)

    def health(self, timeout=1.0):
        return self.maintenance.Health(mt_pb2.HealthRequest(), timeout=timeout)
