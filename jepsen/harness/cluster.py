"""rkvd processes, one per network namespace, started and stopped by PID.

Each node gets its own data directory, log file (appended across restarts),
failpoint file (RKV_FAILPOINTS_FILE) and, when the clock nemesis is on, a
libfaketime offset file. Only processes started here are ever signalled.
"""
import os
import signal
import subprocess
import time

from . import netns
from .client import NodeClient

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
CLIENT_PORT, PEER_PORT, METRICS_PORT, PROXY_BASE = 7001, 7101, 9101, 7200


class Node:
    def __init__(self, i):
        self.id = i
        self.proc = None
        self.paused = False
        self.starts = 0
        self.expected_exit = False  # set before the harness kills it
        # Its files were damaged (corrupt nemesis) and it went on serving: it may
        # stop on a checksum error at any time, which is the right answer.
        self.damaged = False


class Cluster:
    def __init__(self, net, rkvd, workdir, logdir, *, proxy=False, faketime=False, tick_ms=100,
                 election_ticks=10, log_level="info", bug=None, retain=500, partitions=4,
                 op_timeout=2.0):
        self.net, self.rkvd, self.workdir, self.logdir = net, rkvd, workdir, logdir
        self.proxy, self.faketime, self.bug = proxy, faketime, bug
        self.flags = [f"--tick-ms={tick_ms}", f"--election-ticks={election_ticks}",
                      f"--log-level={log_level}", f"--log-retain-entries={retain}",
                      f"--partitions={partitions}"]
        self.partition_count = partitions
        self.nodes = {i: Node(i) for i in net.ips}
        self.clients = {i: NodeClient(self.client_address(i), op_timeout) for i in net.ips}
        self.admin = {i: NodeClient(self.client_address(i), 1.0) for i in net.ips}
        self.events = []  # (monotonic ns, text) of process events, for the report
        self.pids = []    # every rkvd this cluster started

    # --- addresses --------------------------------------------------------
    def client_address(self, i):
        return f"{self.net.ips[i]}:{CLIENT_PORT}"

    def peer_address(self, i):
        """Where the others reach node i: itself, or its proxy on the host."""
        if self.proxy:
            return f"{self.net.host_ip}:{PROXY_BASE + i}"
        return f"{self.net.ips[i]}:{PEER_PORT}"

    def data_dir(self, i):
        return os.path.join(self.workdir, f"n{i}")

    def failpoint_file(self, i):
        return os.path.join(self.workdir, f"n{i}.failpoints")

    def faketime_file(self, i):
        return os.path.join(self.workdir, f"n{i}.faketime")

    def log_path(self, i):
        return os.path.join(self.logdir, f"n{i}.log")

    # --- processes --------------------------------------------------------
    def start(self, i):
        node = self.nodes[i]
        if node.proc is not None and node.proc.poll() is None:
            return
        ips = self.net.ips
        initial = ",".join(f"{j}={self.peer_address(j)}" for j in ips)
        clients = ",".join(f"{j}={ips[j]}:{CLIENT_PORT}" for j in ips)
        metrics = ",".join(f"{j}={ips[j]}:{METRICS_PORT}" for j in ips)
        env = dict(os.environ)
        env["RKV_FAILPOINTS_FILE"] = self.failpoint_file(i)
        if not os.path.exists(self.failpoint_file(i)):
            open(self.failpoint_file(i), "w").close()
        if self.bug:
            env["RKV_BUG"] = self.bug
        if self.faketime:
            if not os.path.exists(self.faketime_file(i)):
                with open(self.faketime_file(i), "w") as f:
                    f.write("+0\n")
            env.update(LD_PRELOAD=FAKETIME_LIB, FAKETIME_TIMESTAMP_FILE=self.faketime_file(i),
                       FAKETIME_CACHE_DURATION="1", FAKETIME_DONT_FAKE_MONOTONIC="1")
        cmd = ["ip", "netns", "exec", netns.ns_name(i), self.rkvd, f"--node-id={i}",
               f"--client-address={ips[i]}:{CLIENT_PORT}", f"--peer-address={ips[i]}:{PEER_PORT}",
               f"--metrics-address={ips[i]}:{METRICS_PORT}", f"--data-dir={self.data_dir(i)}",
               f"--initial-cluster={initial}", f"--initial-client-addresses={clients}",
               f"--initial-metrics-addresses={metrics}"] + self.flags
        log = open(self.log_path(i), "a")
        log.write(f"==== harness: starting node {i} ({' '.join(cmd[4:])})\n")
        log.flush()
        # `ip netns exec` execs rkvd, so the PID is rkvd's own.
        node.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        log.close()
        self.pids.append(node.proc.pid)
        node.starts += 1
        node.paused = False
        node.expected_exit = False

    def alive(self, i):
        p = self.nodes[i].proc
        return p is not None and p.poll() is None

    def signal(self, i, sig):
        node = self.nodes[i]
        if not self.alive(i):
            return False
        if sig in (signal.SIGKILL, signal.SIGTERM):
            node.expected_exit = True
            if node.paused:
                os.kill(node.proc.pid, signal.SIGCONT)
        os.kill(node.proc.pid, sig)
        if sig == signal.SIGSTOP:
            node.paused = True
        elif sig == signal.SIGCONT:
            node.paused = False
        return True

    def kill(self, i):
        if self.signal(i, signal.SIGKILL):
            self.nodes[i].proc.wait(timeout=10)

    def stop(self, i, grace_s=10.0):
        if not self.signal(i, signal.SIGTERM):
            return
        try:
            self.nodes[i].proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.kill(i)

    def start_all(self):
        for i in self.nodes:
            self.start(i)

    def stop_all(self):
        for i in self.nodes:
            if self.nodes[i].paused:
                self.signal(i, signal.SIGCONT)
        for i in self.nodes:
            self.stop(i)

    def unexpected_exits(self):
        """Nodes that exited without the harness asking (crashes)."""
        out = []
        for i, node in self.nodes.items():
            if (node.proc is not None and node.proc.poll() is not None and not node.expected_exit
                    and not node.damaged):
                out.append((i, node.proc.returncode))
        return out

    def wait_healthy(self, timeout_s=30.0):
        """Until every running node reports a leader for each of its partitions."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ok = True
            for i in self.nodes:
                if not self.alive(i):
                    continue
                try:
                    if not self.admin[i].health().healthy:
                        ok = False
                except Exception:
                    ok = False
            if ok:
                return True
            time.sleep(0.2)
        return False

    # --- cluster state ----------------------------------------------------
    def partitions_view(self):
        """{node: [Partition]} from every reachable node (its own replicas)."""
        out = {}
        for i in self.nodes:
            if not self.alive(i) or self.nodes[i].paused:
                continue
            try:
                out[i] = list(self.admin[i].partitions(timeout=0.5))
            except Exception:
                pass
        return out

    def leaders(self):
        """{partition: leader id} as the nodes see it (the most common answer)."""
        votes = {}
        for parts in self.partitions_view().values():
            for p in parts:
                if p.leader_id:
                    votes.setdefault(p.id, {}).setdefault(p.leader_id, 0)
                    votes[p.id][p.leader_id] += 1
        return {p: max(v, key=v.get) for p, v in votes.items()}

    def failpoints(self, i, spec):
        with open(self.failpoint_file(i) + ".tmp", "w") as f:
            f.write(spec + "\n")
        os.replace(self.failpoint_file(i) + ".tmp", self.failpoint_file(i))

    def close(self):
        for c in list(self.clients.values()) + list(self.admin.values()):
            c.close()
        self.remove_faketime_shm()

    def remove_faketime_shm(self):
        """libfaketime keeps a shared-memory segment and a semaphore per
        process and removes them at a clean exit only; remove those of the
        nodes this cluster started (all stopped by now) that were killed."""
        if not self.faketime:
            return
        for pid in self.pids:
            for name in (f"faketime_shm_{pid}", f"sem.faketime_sem_{pid}"):
                try:
                    os.remove(os.path.join("/dev/shm", name))
                except FileNotFoundError:
                    pass
