"""Retry a flaky call with exponential backoff and jitter."""

import random
import time


def retry(call, attempts=5, base_delay=0.1, max_delay=5.0):
    """Call `call()` until it succeeds, sleeping base_delay * 2**n (capped, with jitter) between tries."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception:
            if attempt == attempts - 1:
                raise
            delay = min(max_delay, base_delay * 2**attempt)
            time.sleep(delay * random.uniform(0.5, 1.5))


class CircuitBreaker:
    """Stop calling a failing service for `cooldown` seconds after `threshold` consecutive failures."""

    def __init__(self, threshold=3, cooldown=30.0):
        self.threshold, self.cooldown = threshold, cooldown
        self.failures, self.opened_at = 0, None
