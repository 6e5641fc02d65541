"""Demo tracking site (idempotent): the snippet can be tried from a page served on localhost:8000
(the demo's own origin) or any local static server on port 8080."""

from __future__ import annotations

from embudo.accounts.models import Team, User
from embudo.tracking import services
from embudo.tracking.models import TrackingSite

DEMO_SITE = "Company website (demo)"
DEMO_ORIGINS = ["http://localhost:8000", "http://127.0.0.1:8000", "http://localhost:8080", "http://127.0.0.1:8080"]


def seed_demo(*, teams: dict[str, Team], users: dict[str, User]) -> None:
    del teams
    if TrackingSite.objects.filter(name=DEMO_SITE).exists():
        return
    marketing = users.get("marketing@embudo.demo") or users.get("admin@embudo.demo")
    services.save_site(site=None, name=DEMO_SITE, allowed_origins=DEMO_ORIGINS, active=True,
                       max_requests_per_minute=120, actor_id=marketing.pk if marketing else None)  # fmt: skip
