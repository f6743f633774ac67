"""A plugin for agent tests, run by the agent from a downloaded package.

Options come from ELKEID_PLUGIN_DETAIL (JSON):
    count, rate, data_type, after   emit ``count`` records {"n": i} of ``data_type``
                                     at ``rate`` per second, ``after`` seconds from start;
                                     once all are written, ``emitted`` in the plugin
                                     folder stops a restarted plugin from emitting again;
    fields                           that many extra fields per record (realistic sizes)
    burn                             spin a CPU in a thread (self-limits test)
    garbage                          write one malformed record frame first

Every task is answered with a record of the task's data_type carrying its
token; task data "exit:N" makes the plugin exit with status N instead.
"""

import json
import os
import struct
import sys
import threading
import time

from elkeid.agent.plugins import PluginClient


def emit(client, opts, marker):
    time.sleep(opts.get("after", 0))
    count, rate, data_type = opts.get("count", 0), opts.get("rate", 1000), opts.get("data_type", 7001)
    # ``fields``: extra 16-character fields per record, to approach a real event's size.
    extra = {f"field_{k}": f"value-{k:010d}" for k in range(opts.get("fields", 0))}
    start = time.monotonic()
    for i in range(count):
        client.send(data_type, {"n": str(i), "pid": str(os.getpid()), **extra})
        ahead = (i + 1) / rate - (time.monotonic() - start)
        if ahead > 0.005:
            time.sleep(ahead)
    client.flush()
    with open(marker, "w") as fh:
        fh.write(str(count))


def main():
    opts = json.loads(os.environ.get("ELKEID_PLUGIN_DETAIL") or "{}")
    client = PluginClient()
    print(f"test plugin {os.environ.get('ELKEID_PLUGIN_VERSION')} started in {os.getcwd()}", file=sys.stderr, flush=True)
    if opts.get("garbage"):
        os.write(4, struct.pack("<I", 3) + b"\x0b\x00\x00")
    if opts.get("burn"):
        threading.Thread(target=lambda: [None for _ in iter(int, 1)], daemon=True).start()
    marker = os.path.join(os.environ["ELKEID_PLUGIN_DIR"], "emitted")
    if opts.get("count") and not os.path.exists(marker):
        threading.Thread(target=emit, args=(client, opts, marker), daemon=True).start()
    client.send(7000, {"event": "started", "version": os.environ.get("ELKEID_PLUGIN_VERSION", ""),
                       "pid": str(os.getpid()), "cwd": os.getcwd()})
    client.flush()
    for task in client.tasks():
        if task.data.startswith("exit:"):
            print("exiting on request", file=sys.stderr, flush=True)
            client.flush()
            os._exit(int(task.data[5:]))
        client.send(task.data_type, {"token": task.token, "status": "succeed", "msg": f"echo {task.data}",
                                     "pid": str(os.getpid())})
        client.flush()
    client.close()


if __name__ == "__main__":
    main()
