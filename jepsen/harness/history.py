"""The history: every invocation and completion, one JSON object per line.

Fields: index, process, type (invoke/ok/fail/info), f, key, value, time
(monotonic ns since the run began), wall (unix seconds), node, error.
Thread-safe appends; written through to disk so an interrupted run keeps it.
"""
import json
import threading
import time


class History:
    def __init__(self, path):
        self._lock = threading.Lock()
        self._ops = []
        self._file = open(path, "w") if path else None
        self.t0 = time.monotonic_ns()

    def now(self):
        return time.monotonic_ns() - self.t0

    def append(self, process, type_, f, key=None, value=None, node=None, error=None):
        op = {"process": process, "type": type_, "f": f, "key": key, "value": value,
              "time": self.now(), "wall": round(time.time(), 6)}
        if node is not None:
            op["node"] = node
        if error is not None:
            op["error"] = error
        with self._lock:
            op["index"] = len(self._ops)
            self._ops.append(op)
            if self._file:
                self._file.write(json.dumps(op) + "\n")
        return op

    def ops(self):
        with self._lock:
            return list(self._ops)

    def close(self):
        if self._file:
            self._file.close()
            self._file = None


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def pair(ops):
    """Pairs invocations with completions per process. Returns a list of dicts
    {process, f, key, value (invoke), type (completion type or 'info' if
    none), result, call, ret (ns; None for an unfinished call), index}.
    Nemesis entries (process 'nemesis') are skipped."""
    open_calls = {}
    out = []
    for op in ops:
        p = op["process"]
        if p == "nemesis":
            continue
        if op["type"] == "invoke":
            open_calls[p] = {"process": p, "f": op["f"], "key": op.get("key"), "value": op.get("value"),
                             "call": op["time"], "ret": None, "type": "info", "result": None,
                             "index": op["index"]}
            out.append(open_calls[p])
        else:
            c = open_calls.pop(p, None)
            if c is None:
                continue
            c["type"] = op["type"]
            c["result"] = op.get("value")
            c["ret"] = op["time"] if op["type"] != "info" else None
            c["ret_time"] = op["time"]
            if "error" in op:
                c["error"] = op["error"]
    return out
