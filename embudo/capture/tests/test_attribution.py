"""Attribution of a touch (pure, no database)."""

from hypothesis import given
from hypothesis import strategies as st

from embudo.capture.domain import attribution


def test_utm_wins_then_the_referrer_host_then_the_channel() -> None:
    landing = "https://acme.example/precios?utm_source=news&utm_medium=email"
    assert attribution.touch_from("form", {}, landing_page=landing).source == "news"
    by_referrer = attribution.touch_from("form", {}, referrer="https://www.google.es/search?q=crm")
    assert (by_referrer.source, by_referrer.medium) == ("google.es", "referral")
    assert attribution.touch_from("whatsapp", {}).source == "whatsapp"


@given(referrer=st.text(max_size=60), landing=st.text(max_size=60), utm=st.text(max_size=20))
def test_any_client_text_gives_a_touch(referrer: str, landing: str, utm: str) -> None:
    """Referrer and landing page come from the client: no text may make the intake raise."""
    touch = attribution.touch_from("api", {"utm_campaign": utm}, referrer=referrer, landing_page=landing)
    assert touch.source
    assert touch.referrer == referrer[: attribution.MAX_URL]


def test_unclosed_ipv6_brackets_are_no_host() -> None:
    for referrer in ("http://[::1", "http://[abc/", "https://[", "//["):
        touch = attribution.touch_from("form", {}, referrer=referrer)
        assert (touch.source, touch.medium, touch.referrer) == ("form", "", referrer)
