"""Bursty shop traffic for the node-ssr-leak example (Locust 2.x).

    locust -f locustfile.py --headless --host http://127.0.0.1:18181

Shoppers browse the home page, categories, product pages and search, as
the team's replayed traffic did. The load comes in bursts: BURST_PEAK_USERS
shoppers for BURST_ON seconds, then BURST_BASE_USERS for BURST_OFF seconds
over and over for BURST_RUN seconds,
when the shape ends the test. All from the environment:

    BURST_PEAK_USERS  shoppers during a burst (default 12)
    BURST_BASE_USERS  shoppers between bursts (default 0)
    BURST_ON          seconds of a burst (default 120)
    BURST_OFF         seconds between bursts (default 60)
    BURST_RUN         seconds the whole test runs (default 2400)
    THINK_MIN, THINK_MAX  seconds a shopper waits between pages (0.5, 1.5)
"""
import os
import random

from locust import FastHttpUser, LoadTestShape, between, task


def _env(name, default):
    value = os.environ.get(name, "")
    return float(value) if value else default


CATEGORIES = ["linen", "oak", "copper", "wool", "stone", "glass", "cedar", "felt",
              "brass", "clay", "slate", "amber", "river", "north", "harbour", "meadow"]
QUERIES = ["lamp", "oak table", "wool throw", "copper pan", "glass vase", "felt slippers",
           "stone mug", "cedar box", "linen shirt", "brass hook"]


class Shopper(FastHttpUser):
    wait_time = between(_env("THINK_MIN", 0.5), _env("THINK_MAX", 1.5))

    @task(2)
    def home(self):
        self.client.get("/", name="/")

    @task(3)
    def category(self):
        self.client.get("/category/%s?page=%d" % (random.choice(CATEGORIES), random.randint(1, 5)),
                        name="/category/[slug]")

    @task(5)
    def product(self):
        # A few bestsellers get most of the views; the long tail fills
        # the fixed variant's LRU cache over the first bursts.
        pid = random.randint(0, 60) if random.random() < 0.6 else random.randint(0, 4999)
        self.client.get("/product/%d" % pid, name="/product/[id]")

    @task(2)
    def search(self):
        self.client.get("/search", params={"q": random.choice(QUERIES)}, name="/search")


class Bursts(LoadTestShape):
    """BURST_PEAK_USERS for BURST_ON s, BURST_BASE_USERS for BURST_OFF s, repeated."""

    peak = int(_env("BURST_PEAK_USERS", 12))
    base = int(_env("BURST_BASE_USERS", 0))
    on = _env("BURST_ON", 120)
    off = _env("BURST_OFF", 60)
    run = _env("BURST_RUN", 2400)

    def tick(self):
        t = self.get_run_time()
        if t >= self.run:
            return None
        users = self.peak if t % (self.on + self.off) < self.on else self.base
        # Spawn (or stop) them all within a couple of seconds.
        return (users, max(users, self.peak) / 2.0)
