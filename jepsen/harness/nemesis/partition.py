"""Network partitions with nftables rules inside the node namespaces."""


class Partition:
    faults = ["isolate-one", "isolate-leader", "halves", "majority-ring", "bridge"]

    def __init__(self, ctx):
        self.ctx = ctx
        self.active = False

    def start(self, fault):
        net, rng, ids = self.ctx.net, self.ctx.rng, sorted(self.ctx.net.ips)
        self.active = True
        if fault == "isolate-one":
            i = rng.choice(ids)
            net.partition([[i], [j for j in ids if j != i]])
            return {"isolated": i}
        if fault == "isolate-leader":
            leaders = self.ctx.cluster.leaders()
            data = {p: l for p, l in leaders.items() if p != 0} or leaders
            if not data:
                i = rng.choice(ids)
                net.partition([[i], [j for j in ids if j != i]])
                return {"isolated": i, "leader_of": None}
            p = rng.choice(sorted(data))
            i = data[p]
            net.partition([[i], [j for j in ids if j != i]])
            return {"isolated": i, "leader_of": p}
        if fault == "halves":
            shuffled = ids[:]
            rng.shuffle(shuffled)
            k = len(ids) // 2
            groups = [sorted(shuffled[:k]), sorted(shuffled[k:])]
            net.partition(groups)
            return {"groups": groups}
        if fault == "majority-ring":
            ring = ids[:]
            rng.shuffle(ring)
            n = len(ring)
            if n >= 5:
                # Each node keeps its two ring neighbours: a majority each, no two the same.
                cut = [(ring[a], ring[(a + 2) % n]) for a in range(n)]
                net.cut_links(cut)
                return {"ring": ring, "cut": cut}
            # Three nodes: every node keeps a majority (itself and one other)
            # with one cut link; TCP needs both directions, so one-way drops
            # would cut whole links anyway.
            cut = [(ring[0], ring[1])]
            net.cut_links(cut)
            return {"ring": ring, "cut": cut}
        if fault == "bridge":
            shuffled = ids[:]
            rng.shuffle(shuffled)
            mid = len(ids) // 2
            bridge = shuffled[mid]
            left, right = shuffled[:mid], shuffled[mid + 1:]
            net.cut_links([(a, b) for a in left for b in right])
            return {"bridge": bridge, "left": sorted(left), "right": sorted(right)}
        raise ValueError(fault)

    def stop(self):
        if self.active:
            self.ctx.net.heal()
            self.active = False
            return {"healed": True}
        return {}
