"""Self-tests of the harness's client: the set workload's final read follows
the server's pages (a run once counted every insert past the first page of
10,000 keys as lost)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import client  # noqa: E402


class PagedKV:
    """Answers Range like rkvd: at most `limit` keys of [key, range_end) a page,
    with more and next_key when keys are left."""

    def __init__(self, keys):
        self.keys = sorted(keys)
        self.requests = []

    def Range(self, req, timeout):  # noqa: N802 (gRPC's name)
        self.requests.append((req.key, req.range_end, req.limit))
        inside = [k for k in self.keys if k >= req.key and (req.range_end == b"\0" or k < req.range_end)]
        page = inside[:req.limit]
        resp = client.kv_pb2.RangeResponse(kvs=[client.kv_pb2.KeyValue(key=k, value=k[-3:]) for k in page])
        if len(inside) > len(page):
            resp.more = True
            resp.next_key = inside[len(page)]
        return resp


def node_client(kv):
    c = client.NodeClient.__new__(client.NodeClient)
    c.kv, c.timeout = kv, 1.0
    return c


class RangePrefix(unittest.TestCase):
    def test_follows_pages_to_the_end(self):
        keys = [f"set/{i:05d}".encode() for i in range(25)] + [b"other", b"set0", b"ses"]
        kv = PagedKV(keys)
        out = node_client(kv).range_prefix("set/", page_keys=10)
        self.assertEqual(out.type, "ok")
        self.assertEqual(sorted(out.value), [f"set/{i:05d}" for i in range(25)])
        self.assertEqual(len(kv.requests), 3)
        self.assertEqual(kv.requests[1][0], b"set/00010")

    def test_prefix_end(self):
        self.assertEqual(client.prefix_end(b"set/"), b"set0")
        self.assertEqual(client.prefix_end(b"a\xff"), b"b")
        self.assertEqual(client.prefix_end(b"\xff"), b"\0")


if __name__ == "__main__":
    unittest.main()
