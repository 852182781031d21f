"""A worker with the S2 image's main loop, for tests: run as `python3 worker.py` with this
folder on sys.path (the images run `python worker-s2.py` from `/`, beside `/rediswq.py`).

Environment, as in the image: REDIS_SERVICE_HOST (default "redis-master"). Test-only knobs:
  REDIS_SERVICE_PORT  port of the test redis-server (the images always use 6379)
  QUEUE               queue name (default "jobS2", hard-coded in the S2 image)
  LEASE_SECS          lease of the image's lease() call (default 1800, as in the S2 image)
  BLOCK_TIMEOUT       BRPOPLPUSH timeout (default 600, as in the S2 image)
  WORK_SECONDS        seconds one item takes (default 0)
  WORK_LOG            file to which "start <item>" and "done <item>" lines are appended
  POISON              items containing this substring raise, as a crashing workflow would
The loop has no error handling, like the image's: any exception ends the process non-zero.
"""
import json
import os
import sys
import time

import rediswq


def log(line):
    path = os.environ.get("WORK_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def process(item):
    scene = json.loads(item.decode("utf-8"))["in_scene"]
    log("start " + scene)
    poison = os.environ.get("POISON")
    if poison and poison in scene:
        raise RuntimeError("poison item " + scene)
    time.sleep(float(os.environ.get("WORK_SECONDS", "0")))
    log("done " + scene)


def main():
    q = rediswq.RedisWQ(
        name=os.environ.get("QUEUE", "jobS2"),
        host=os.environ.get("REDIS_SERVICE_HOST", "redis-master"),
        port=int(os.environ.get("REDIS_SERVICE_PORT", "6379")),
    )
    print("worker with session ID " + q.sessionID(), flush=True)
    lease_secs = int(os.environ.get("LEASE_SECS", "1800"))
    timeout = int(os.environ.get("BLOCK_TIMEOUT", "600"))
    while not q.empty():
        item = q.lease(lease_secs=lease_secs, block=True, timeout=timeout)
        if item is not None:
            process(item)
            q.complete(item)
    print("queue empty, exiting", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
