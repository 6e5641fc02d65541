"""gunicorn server hooks for ``embudo serve`` (loaded with ``--config python:embudo.ops.gunicorn_hooks``).

Each keep-alive connection is closed after ``EMBUDO_WEB_REQUESTS_PER_CONNECTION`` requests (default 100; up to
1.5 times that, see ``quota_of``), as
nginx's ``keepalive_requests`` does. Why: a keep-alive connection stays with the worker process that accepted
it, and one worker's threads share one GIL, so a client that keeps a few connections open (wrk, an integration's
HTTP pool, a proxy's upstream pool) can end up with all of them on one worker: about one core of Python for the
whole load while the other worker idles (bench intake-api: 77.6-81.1 leads/s with all 8 connections on one of
two workers, 113-126 split). The client reconnects, and an idle worker is the first to accept, so the load
spreads again; a reconnect every 100 requests costs well under 1 % of them.
"""

from __future__ import annotations

import os
from typing import Any

REQUESTS_PER_CONNECTION = int(os.environ.get("EMBUDO_WEB_REQUESTS_PER_CONNECTION", "100"))


def quota_of(peer_addr: Any) -> int:
    """How many requests the connection from ``peer_addr`` may send: ``REQUESTS_PER_CONNECTION`` plus up to half
    as many again, picked by the client's port. Why the spread: a client opens its connections together (wrk,
    a pool warming up), so with one quota they all reached it together and reconnected together, and the new
    split between the workers was as random as the first; spread out, each reconnect lands on the worker that is
    then the less busy one (its main thread accepts first), and the load rebalances continuously."""
    port = peer_addr[1] if isinstance(peer_addr, tuple) and len(peer_addr) > 1 and isinstance(peer_addr[1], int) else 0
    return REQUESTS_PER_CONNECTION + port % (REQUESTS_PER_CONNECTION // 2 + 1)


def pre_request(worker: Any, req: Any) -> None:
    """gunicorn calls this before each request; ``req.req_number`` counts the requests of its connection."""
    del worker
    if REQUESTS_PER_CONNECTION > 0 and req.req_number >= quota_of(req.peer_addr):
        req.must_close = True  # gunicorn closes the connection after this response
