"""The visitor's address behind reverse proxies (EMBUDO_TRUSTED_PROXIES), through real requests."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from embudo.capture.models import Submission
from embudo.capture.w2l import MAX_PER_IP_PER_HOUR
from embudo.core.middleware import client_address

pytestmark = pytest.mark.django_db


def test_behind_one_proxy_each_visitor_is_counted_on_their_own(client: Client, settings: Any) -> None:
    """Sixty-one Web-to-Lead posts through one proxy from sixty-one people: none is rate-limited."""
    settings.TRUSTED_PROXIES = 1
    for n in range(MAX_PER_IP_PER_HOUR + 1):
        client.post("/w2l/", {"email": f"p{n}@example.com", "last_name": "Ruiz"},
                    REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")  # fmt: skip

    assert not Submission.objects.filter(status="quarantined").exists()
    assert Submission.objects.get(payload__email="p7@example.com").ip == "198.51.100.7"


def test_without_trusted_proxies_the_forwarded_header_is_ignored(client: Client, settings: Any) -> None:
    settings.TRUSTED_PROXIES = 0
    client.post("/w2l/", {"email": "x@example.com"}, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert Submission.objects.get().ip == "203.0.113.9"


def test_addresses_the_client_wrote_are_not_trusted() -> None:
    # The client sent "X-Forwarded-For: 6.6.6.6" itself; our one proxy appended the real address.
    assert client_address("6.6.6.6, 198.51.100.4", "10.0.0.1", 1) == "198.51.100.4"
    assert client_address("198.51.100.4, 10.0.0.2", "10.0.0.1", 2) == "198.51.100.4"
    assert client_address("", "10.0.0.1", 1) == "10.0.0.1"
    assert client_address("not-an-ip", "10.0.0.1", 1) == "10.0.0.1"
    assert client_address("198.51.100.4", "10.0.0.1", 2) == "10.0.0.1"  # fewer hops than proxies
    assert client_address(" 2001:db8::1 ", "10.0.0.1", 1) == "2001:db8::1"


@given(st.lists(st.ip_addresses().map(str), max_size=4), st.integers(min_value=0, max_value=3))
def test_the_address_is_the_one_the_outermost_trusted_proxy_saw(hops: list[str], proxies: int) -> None:
    address = client_address(", ".join(hops), "10.0.0.1", proxies)
    if proxies and len(hops) >= proxies:
        assert address == str(__import__("ipaddress").ip_address(hops[-proxies]))
    else:
        assert address == "10.0.0.1"
