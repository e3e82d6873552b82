#!/usr/bin/env python3
"""Appends log lines to a file at a steady byte rate: the page cache grows,
the process's own (anonymous) memory stays flat.

    logwriter.py FILE BYTES_PER_SECOND
"""
import random
import sys
import time

path, rate = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
words = ["GET", "POST", "/api/v1/items", "/healthz", "200", "404", "500", "user", "cart", "checkout"]
with open(path, "a") as f:
    nxt = time.time()
    while True:
        written = 0
        while written < rate:
            line = "%.3f %s\n" % (time.time(), " ".join(rng.choice(words) for _ in range(30)))
            f.write(line)
            written += len(line)
        f.flush()
        nxt += 1.0
        time.sleep(max(0.0, nxt - time.time()))
