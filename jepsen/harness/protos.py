"""Python stubs for proto/rkv/v1, generated once per proto change.

protoc and Debian's grpc_python_plugin write them under
jepsen/.gen/<hash of the .proto files>/, which is then put on sys.path.
"""
import hashlib
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_DIR = os.path.join(ROOT, "proto")
FILES = ["rkv/v1/kv.proto", "rkv/v1/cluster.proto", "rkv/v1/maintenance.proto"]


def load():
    """Generates the stubs if needed and returns (kv_pb2, kv_grpc, cluster_pb2,
    cluster_grpc, maintenance_pb2, maintenance_grpc)."""
    digest = hashlib.sha256()
    for f in FILES:
        with open(os.path.join(PROTO_DIR, f), "rb") as fh:
            digest.update(fh.read())
    out = os.path.join(ROOT, "jepsen", ".gen", digest.hexdigest()[:16])
    if not os.path.exists(os.path.join(out, "rkv", "v1", "kv_pb2.py")):
        os.makedirs(out + ".tmp", exist_ok=True)
        subprocess.run(["protoc", f"--proto_path={PROTO_DIR}", f"--python_out={out}.tmp",
                        f"--grpc_python_out={out}.tmp",
                        "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"] + FILES,
                       check=True)
        os.replace(out + ".tmp", out) if not os.path.exists(out) else None
    if out not in sys.path:
        sys.path.insert(0, out)
    from rkv.v1 import (cluster_pb2, cluster_pb2_grpc, kv_pb2, kv_pb2_grpc,  # noqa: E402
                        maintenance_pb2, maintenance_pb2_grpc)
    return kv_pb2, kv_pb2_grpc, cluster_pb2, cluster_pb2_grpc, maintenance_pb2, maintenance_pb2_grpc
