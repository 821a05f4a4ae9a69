"""The test network: a bridge on the host and one network namespace per node,
joined by a veth pair, in a private subnet (10.77.0.0/24 by default).

Names all start with one prefix ("rkvj" unless configure() picks another)
so leftovers of an earlier run can be found (leftovers()) and removed
(cleanup_all()). Runs with different prefixes and subnets can share the
machine: each sees and removes only its own. Every command is recorded so
teardown undoes exactly what setup did. Needs root.
"""
import fcntl
import ipaddress
import os
import re
import shutil
import subprocess
import time

DEFAULT_PREFIX = "rkvj"
PREFIX = BRIDGE = NFT_TABLE = ""
FORWARD_RULE = []


def configure(prefix=DEFAULT_PREFIX):
    """Names this run's namespaces, links, nftables tables and host rule."""
    global PREFIX, BRIDGE, NFT_TABLE, FORWARD_RULE
    # Interface names have at most 15 characters: prefix + "br0" or "v12".
    if not re.fullmatch(r"[a-z][a-z0-9]{2,7}", prefix):
        raise ValueError(f"network prefix {prefix!r}: use 3 to 8 lowercase letters or digits, "
                         "starting with a letter")
    PREFIX, BRIDGE, NFT_TABLE = prefix, f"{prefix}br0", prefix
    # Docker and the like load br_netfilter and set FORWARD's policy to DROP,
    # which also drops traffic bridged between our namespaces: one tagged
    # ACCEPT rule at the top of FORWARD lets the bridge's own traffic through.
    FORWARD_RULE = ["FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-m", "comment", "--comment", PREFIX, "-j", "ACCEPT"]


configure()


def sh(*args, check=True, capture=False, ns=None):
    cmd = list(args)
    if ns is not None:
        cmd = ["ip", "netns", "exec", ns] + cmd
    r = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout if capture else r.returncode


def ns_name(i):
    return f"{PREFIX}n{i}"


def _iptables(*args, check=False):
    if not shutil.which("iptables"):
        return 1
    return sh("iptables", *args, check=check)


def leftovers():
    """Namespaces, links and host firewall rules of this suite that exist now."""
    found = []
    if shutil.which("iptables"):
        out = sh("iptables", "-S", "FORWARD", capture=True, check=False) or ""
        found += [f"rule {line}" for line in out.splitlines() if f"--comment {PREFIX} " in line + " "]
    out = sh("ip", "netns", "list", capture=True, check=False) or ""
    found += [f"netns {line.split()[0]}" for line in out.splitlines() if _ours(line.split()[0])]
    out = sh("ip", "-o", "link", "show", capture=True, check=False) or ""
    for line in out.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if _ours(name):
            found.append(f"link {name}")
    return found


def _ours(name):
    # "rkvj" must not claim the names of a run whose prefix is "rkvj2".
    return re.fullmatch(re.escape(PREFIX) + r"(n|v)[0-9]+|" + re.escape(BRIDGE), name) is not None


def hold_run_lock():
    """Takes the lock that a run with this prefix holds while it lives, and
    returns its open file (keep it open; the lock goes with the process), or
    the PID of the live run that holds it."""
    path = os.path.join("/run/lock", f"{PREFIX}.run")
    f = open(path, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip()
        f.close()
        return int(holder) if holder.isdigit() else -1
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def cleanup_all():
    """Removes every namespace and link named with the suite's prefix."""
    while _iptables("-C", *FORWARD_RULE) == 0:
        _iptables("-D", *FORWARD_RULE)
    for item in leftovers():
        kind, name = item.split(" ", 1)
        if kind == "rule":
            continue
        if kind == "netns":
            sh("ip", "netns", "del", name, check=False)
        else:
            sh("ip", "link", "del", name, check=False)


class Network:
    def __init__(self, nodes, subnet="10.77.0.0/24"):
        net = ipaddress.ip_network(subnet)
        hosts = list(net.hosts())
        self.n = nodes
        self.prefixlen = net.prefixlen
        self.host_ip = str(hosts[-1])                       # the bridge (clients, proxies)
        self.ips = {i: str(hosts[i - 1]) for i in range(1, nodes + 1)}
        # Source addresses the peer proxy uses for traffic from node i, so that
        # partitions (which match on addresses) also cut proxied links.
        self.proxy_ips = {i: str(hosts[100 + i - 1]) for i in range(1, nodes + 1)}
        self.up = False

    def setup(self):
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        self.up = True
        sh("ip", "addr", "add", f"{self.host_ip}/{self.prefixlen}", "dev", BRIDGE)
        for ip in self.proxy_ips.values():
            sh("ip", "addr", "add", f"{ip}/{self.prefixlen}", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        _iptables("-I", FORWARD_RULE[0], "1", *FORWARD_RULE[1:])
        for i, ip in self.ips.items():
            ns, veth = ns_name(i), f"{PREFIX}v{i}"
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", veth, "master", BRIDGE, "up")
            sh("ip", "-n", ns, "addr", "add", f"{ip}/{self.prefixlen}", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            # One nftables table per namespace holds every fault rule.
            sh("nft", "add", "table", "inet", NFT_TABLE, ns=ns)
            for chain in ("input", "output"):
                sh("nft", "add", "chain", "inet", NFT_TABLE, chain,
                   f"{{ type filter hook {chain} priority 0 ; policy accept ; }}", ns=ns)

    def teardown(self, wait_s=10.0):
        """Deletes the veths, namespaces and bridge, and waits until the
        kernel has really removed them (namespace deletion is lazy)."""
        for i in self.ips:
            sh("ip", "link", "del", f"{PREFIX}v{i}", check=False)
            sh("ip", "netns", "del", ns_name(i), check=False)
        sh("ip", "link", "del", BRIDGE, check=False)
        while _iptables("-C", *FORWARD_RULE) == 0:
            _iptables("-D", *FORWARD_RULE)
        self.up = False
        deadline = time.monotonic() + wait_s
        while leftovers() and time.monotonic() < deadline:
            time.sleep(0.1)

    # --- fault rules ------------------------------------------------------
    def flush(self, i):
        for chain in ("input", "output"):
            sh("nft", "flush", "chain", "inet", NFT_TABLE, chain, ns=ns_name(i), check=False)

    def heal(self):
        for i in self.ips:
            self.flush(i)

    def addresses_of(self, j):
        return [self.ips[j], self.proxy_ips[j]]

    def block(self, i, j):
        """Node i drops everything from and to node j (both directions are
        cut on i's side; callers block symmetrically)."""
        for addr in self.addresses_of(j):
            sh("nft", "add", "rule", "inet", NFT_TABLE, "input", "ip", "saddr", addr, "drop", ns=ns_name(i))
            sh("nft", "add", "rule", "inet", NFT_TABLE, "output", "ip", "daddr", addr, "drop", ns=ns_name(i))

    def partition(self, groups):
        """Cuts every link between nodes in different groups (lists of ids)."""
        side = {n: g for g, members in enumerate(groups) for n in members}
        for i in self.ips:
            for j in self.ips:
                if i != j and side.get(i, -1 - i) != side.get(j, -1 - j):
                    self.block(i, j)

    def block_one_way(self, i, j):
        """Node i stops hearing node j (i's input only)."""
        for addr in self.addresses_of(j):
            sh("nft", "add", "rule", "inet", NFT_TABLE, "input", "ip", "saddr", addr, "drop", ns=ns_name(i))

    def cut_links(self, pairs):
        for i, j in pairs:
            self.block(i, j)
            self.block(j, i)

    def loss(self, i, percent):
        """Node i drops `percent` of the packets it exchanges with the other
        nodes and their proxy addresses (nftables numgen; this kernel has no
        tc netem). Client traffic from the host is left alone."""
        peers = [a for j in self.ips if j != i for a in self.addresses_of(j)]
        peer_set = "{ " + ", ".join(peers) + " }"
        for chain, field in (("input", "saddr"), ("output", "daddr")):
            sh("nft", "add", "rule", "inet", NFT_TABLE, chain, "ip", field, peer_set,
               "numgen", "random", "mod", "100", "<", str(int(percent)), "drop", ns=ns_name(i))

    def rules(self, i):
        return sh("nft", "list", "table", "inet", NFT_TABLE, ns=ns_name(i), capture=True, check=False)
