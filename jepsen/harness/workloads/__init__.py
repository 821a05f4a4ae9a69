"""Workloads: each generates operations, runs them through a NodeClient and
checks its own invariants. See register.py for the interface."""


def get(name, rng, opts):
    from . import append, bank, register, set as set_
    table = {"register": register.Register, "set": set_.Set, "bank": bank.Bank,
             "append": append.Append}
    if name not in table:
        raise SystemExit(f"unknown workload {name!r}; choose from {', '.join(sorted(table))}")
    return table[name](rng, opts)
