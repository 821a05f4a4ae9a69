"""Network quality: packet loss with nftables numgen rules inside the
namespaces, and delay/jitter/connection resets from the peer-link proxy
(harness/proxy.py; tc netem is not available on this kernel)."""
import json
import os


class Loss:
    faults = ["loss-one", "loss-all"]

    def __init__(self, ctx):
        self.ctx, self.active = ctx, False

    def start(self, fault):
        ids = sorted(self.ctx.net.ips)
        percent = self.ctx.rng.choice([10, 25, 40])
        nodes = [self.ctx.rng.choice(ids)] if fault == "loss-one" else ids
        for i in nodes:
            self.ctx.net.loss(i, percent)
        self.active = True
        return {"nodes": nodes, "percent": percent}

    def stop(self):
        if not self.active:
            return {}
        self.ctx.net.heal()
        self.active = False
        return {"healed": True}


class ProxyFaults:
    """Writes the proxy's fault file; the proxy re-reads it within 200 ms."""
    faults = ["delay", "jitter", "resets"]

    def __init__(self, ctx):
        self.ctx, self.active = ctx, False

    def _write(self, cfg):
        path = self.ctx.proxy_config
        with open(path + ".tmp", "w") as f:
            json.dump(cfg, f)
        os.replace(path + ".tmp", path)

    def start(self, fault):
        rng = self.ctx.rng
        node = rng.choice(sorted(self.ctx.net.ips))
        if fault == "delay":
            cfg = {"delay_ms": rng.choice([50, 150, 300]), "jitter_ms": 0}
        elif fault == "jitter":
            cfg = {"delay_ms": 20, "jitter_ms": rng.choice([50, 200, 500])}
        else:
            cfg = {"reset_per_s": rng.choice([0.5, 2.0])}
        cfg["nodes"] = [node] if rng.random() < 0.5 else sorted(self.ctx.net.ips)
        self._write(cfg)
        self.active = True
        return cfg

    def stop(self):
        if not self.active:
            return {}
        self._write({})
        self.active = False
        return {"healed": True}
