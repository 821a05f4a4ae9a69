#!/usr/bin/python3
"""Put, get, range and txn against a running rkv cluster from Python.

Uses Debian's python3-grpcio and stubs generated from proto/rkv/v1 at build
time (target rkv_python_stubs, part of `all`). Run with /usr/bin/python3: a
python3 earlier on PATH may not see Debian's packages.

    /usr/bin/python3 examples/python/rkv_example.py \
        --endpoint 127.0.0.1:7001 --stubs build/examples/python/gen

Any node accepts any request (it forwards to the partition's leader), so one
endpoint is enough. The example follows the client contract of kv.proto:
UNAVAILABLE is retried for reads, and for writes only when the server's
ErrorDetail (trailing metadata "rkv-error-bin") says not_proposed; any other
failed write has an unknown outcome and is reported, never retried.

Exit status: 0 when every step gave the expected answer, 1 on any
unexpected answer or error, 2 for bad arguments or missing stubs.
"""

import argparse
import os
import sys
import time
import uuid

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2


class Unexpected(Exception):
    """A step got an answer other than the one it expects."""


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    default_stubs = os.environ.get(
        "RKV_PY_STUBS", os.path.join(here, "..", "..", "build", "examples", "python", "gen"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", default="127.0.0.1:7001", help="host:port of any node")
    parser.add_argument("--stubs", default=default_stubs,
                        help="directory holding the generated rkv/v1/*_pb2*.py "
                             "(default: $RKV_PY_STUBS or build/examples/python/gen)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per call")
    parser.add_argument("--attempts", type=int, default=8, help="attempts per retryable call")
    return parser.parse_args()


class Client:
    """A small client: one channel, deadlines, and the retry rules of kv.proto."""

    def __init__(self, grpc, kv_pb2, kv_pb2_grpc, endpoint, timeout, attempts):
        self.grpc = grpc
        self.kv_pb2 = kv_pb2
        self.timeout = timeout
        self.attempts = attempts
        self.channel = grpc.insecure_channel(endpoint)
        grpc.channel_ready_future(self.channel).result(timeout=timeout)
        self.stub = kv_pb2_grpc.KVStub(self.channel)

    def error_detail(self, error):
        for key, value in error.trailing_metadata() or ():
            if key == "rkv-error-bin":
                detail = self.kv_pb2.ErrorDetail()
                detail.ParseFromString(value)
                return detail
        return None

    def call(self, method, request, write):
        backoff = 0.02
        for attempt in range(1, self.attempts + 1):
            try:
                return method(request, timeout=self.timeout)
            except self.grpc.RpcError as error:
                detail = self.error_detail(error)
                not_proposed = detail is not None and detail.not_proposed
                retryable = error.code() == self.grpc.StatusCode.UNAVAILABLE and (
                    not write or not_proposed)
                if write and not retryable and error.code() not in (
                        self.grpc.StatusCode.INVALID_ARGUMENT,
                        self.grpc.StatusCode.RESOURCE_EXHAUSTED,
                        self.grpc.StatusCode.FAILED_PRECONDITION,
                        self.grpc.StatusCode.OUT_OF_RANGE):
                    raise Unexpected("outcome unknown: %s failed with %s: %s" % (
                        type(request).__name__, error.code().name, error.details()))
                if not retryable or attempt == self.attempts:
                    raise Unexpected("%s failed with %s: %s (detail: %s)" % (
                        type(request).__name__, error.code().name, error.details(),
                        detail if detail is None else str(detail).replace("\n", " ")))
                time.sleep(backoff)
                backoff = min(backoff * 2, 0.5)
        raise AssertionError("unreachable")

    def put(self, key, value):
        return self.call(self.stub.Put, self.kv_pb2.PutRequest(key=key, value=value), True)

    def get(self, key):
        return self.call(self.stub.Get, self.kv_pb2.GetRequest(key=key), False)

    def delete(self, key):
        return self.call(self.stub.Delete, self.kv_pb2.DeleteRequest(key=key), True)

    def range(self, **fields):
        return self.call(self.stub.Range, self.kv_pb2.RangeRequest(**fields), False)

    def txn(self, request):
        return self.call(self.stub.Txn, request, True)


def expect(condition, what):
    if not condition:
        raise Unexpected(what)
    print("ok:", what)


def run(c, kv_pb2):
    # One hash tag keeps every key in one partition, as a Txn requires.
    prefix = ("{pyexample-%s}/" % uuid.uuid4().hex[:12]).encode()
    a, b, d = prefix + b"a", prefix + b"b", prefix + b"d"

    put = c.put(a, b"1")
    expect(put.revision > 0, "put %s returns a revision (%d)" % (a.decode(), put.revision))
    got = c.get(a)
    expect(got.found and got.kv.value == b"1", "get %s returns the value put" % a.decode())
    expect(got.kv.version == 1, "a new key has version 1 (got %d)" % got.kv.version)
    c.put(b, b"2")
    c.put(d, b"4")

    listed = c.range(key=prefix, prefix=True)
    keys = [kv.key for kv in listed.kvs]
    expect(keys == [a, b, d], "range --prefix lists the three keys in order (got %r)" % keys)
    expect(listed.count == 3, "range counts 3 keys (got %d)" % listed.count)

    page = c.range(key=prefix, range_end=prefix[:-1] + b"0", limit=2)
    expect([kv.key for kv in page.kvs] == [a, b] and page.more,
           "a range limited to 2 keys returns the first page and says more follow")
    rest = c.range(key=page.next_key, range_end=prefix[:-1] + b"0")
    expect([kv.key for kv in rest.kvs] == [d], "the next page starts at next_key")

    swap = kv_pb2.TxnRequest(
        compare=[kv_pb2.Compare(key=a, target=kv_pb2.Compare.VALUE,
                                result=kv_pb2.Compare.EQUAL, value=b"1")],
        success=[kv_pb2.RequestOp(put=kv_pb2.PutRequest(key=a, value=b"2"))],
        failure=[kv_pb2.RequestOp(range=kv_pb2.RangeRequest(key=a))])
    first = c.txn(swap)
    expect(first.succeeded, "txn: value(a) == 1 holds, so the then branch sets a = 2")
    expect(c.get(a).kv.value == b"2", "get a returns 2 after the txn")
    second = c.txn(swap)
    expect(not second.succeeded, "the same txn again fails its compare (a normal reply)")
    current = second.responses[0].range.kvs if second.responses else []
    expect(len(current) == 1 and current[0].value == b"2",
           "the else branch read a = 2")

    deleted = c.delete(a)
    expect(deleted.deleted == 1, "delete a deletes one key")
    expect(not c.get(a).found, "get a after delete finds nothing")
    for key in (b, d):
        c.delete(key)
    expect(c.range(key=prefix, prefix=True, count_only=True).count == 0,
           "nothing is left under the prefix")


def main():
    args = parse_args()
    stubs = os.path.abspath(args.stubs)
    if not os.path.exists(os.path.join(stubs, "rkv", "v1", "kv_pb2_grpc.py")):
        print("rkv_example: no generated stubs in %s; build target rkv_python_stubs "
              "and pass --stubs <build>/examples/python/gen" % stubs, file=sys.stderr)
        return EXIT_USAGE
    sys.path.insert(0, stubs)
    try:
        import grpc
        from rkv.v1 import kv_pb2, kv_pb2_grpc
    except ImportError as error:
        print("rkv_example: %s; run with /usr/bin/python3 (Debian's python3-grpcio and "
              "python3-protobuf)" % error, file=sys.stderr)
        return EXIT_USAGE
    try:
        c = Client(grpc, kv_pb2, kv_pb2_grpc, args.endpoint, args.timeout, args.attempts)
    except grpc.FutureTimeoutError:
        print("rkv_example: could not connect to %s within %gs" % (args.endpoint, args.timeout),
              file=sys.stderr)
        return EXIT_UNEXPECTED
    try:
        run(c, kv_pb2)
    except Unexpected as error:
        print("rkv_example: unexpected: %s" % error, file=sys.stderr)
        return EXIT_UNEXPECTED
    print("rkv_example: all steps gave the expected answers")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
