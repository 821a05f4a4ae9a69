"""A fault-injecting TCP proxy for the peer links, run as its own process:

  /usr/bin/python3 -m harness.proxy CONFIG_JSON FAULTS_JSON

CONFIG: {"listen_host": ..., "routes": {port: [dest_host, dest_port]},
"sources": {node_ip: source_ip}}. For each accepted connection from node i
it connects to the destination from node i's proxy source address, so
partition rules on addresses cut proxied links too. FAULTS (re-read every
200 ms): delay_ms, jitter_ms (added per chunk, order kept: TCP cannot
reorder or duplicate bytes without breaking the stream, so reordering and
duplication show up as delay spikes and resets), reset_per_s (random
connection resets), nodes (destinations affected; all when absent)."""
import asyncio
import json
import os
import random
import sys
import time

faults = {}
conns = set()


async def reload(path):
    global faults
    mtime = None
    while True:
        try:
            m = os.stat(path).st_mtime_ns
            if m != mtime:
                mtime = m
                with open(path) as f:
                    faults = json.load(f) or {}
        except (OSError, ValueError):
            pass
        await asyncio.sleep(0.2)


def affected(dest_node):
    nodes = faults.get("nodes")
    return nodes is None or dest_node in nodes


async def pump(reader, writer, dest_node):
    last = 0.0
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            delay = 0.0
            if affected(dest_node):
                delay = (faults.get("delay_ms", 0) + random.uniform(0, faults.get("jitter_ms", 0))) / 1000
            if delay:
                due = max(time.monotonic() + delay, last)
                last = due
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def resetter():
    while True:
        await asyncio.sleep(0.1)
        rate = faults.get("reset_per_s", 0)
        if rate and conns and random.random() < rate * 0.1:
            victim = random.choice(sorted(conns, key=id))
            if affected(victim[2]):
                for w in victim[:2]:
                    w.transport.abort()


async def main(config_path, faults_path):
    with open(config_path) as f:
        cfg = json.load(f)
    servers = []
    for port, (dest_host, dest_port, dest_node) in cfg["routes"].items():
        async def handle(reader, writer, dest_host=dest_host, dest_port=dest_port, dest_node=dest_node):
            src_ip = writer.get_extra_info("peername")[0]
            source = cfg["sources"].get(src_ip)
            try:
                r2, w2 = await asyncio.wait_for(asyncio.open_connection(
                    dest_host, dest_port, local_addr=(source, 0) if source else None), timeout=2.0)
            except (OSError, asyncio.TimeoutError):
                writer.close()
                return
            entry = (writer, w2, dest_node)
            conns.add(entry)
            try:
                await asyncio.gather(pump(reader, w2, dest_node), pump(r2, writer, dest_node))
            finally:
                conns.discard(entry)
        servers.append(await asyncio.start_server(handle, cfg["listen_host"], int(port)))
    print("proxy ready", flush=True)
    await asyncio.gather(reload(faults_path), resetter(), *(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
