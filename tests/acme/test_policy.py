"""Which names are ordered, and when (fazt.acme.policy)."""

from __future__ import annotations

import pytest

from fazt.acme import policy

DAY = 86400.0


def test_wanted_names_are_the_base_names_then_sites_once():
    assert policy.wanted_names("example.com", ["blog", "root", "shop"]) == [
        "example.com", "admin.example.com", "root.example.com", "blog.example.com", "shop.example.com"]


@pytest.mark.parametrize("name, public, expected", [
    ("example.com", True, True),
    ("blog.example.com", True, True),
    ("fazt.test", False, True),          # a test CA such as Pebble may validate .test
    ("fazt.test", True, False),          # Let's Encrypt never will
    ("localhost", False, False),
    ("blog.localhost", False, False),
    ("intranet", False, False),
    ("127.0.0.1", False, False),
    ("[::1]", False, False),
    ("router.home.arpa", True, False),
])
def test_orderable(name, public, expected):
    assert policy.orderable(name, public) is expected


@pytest.mark.parametrize("url, public", [
    (policy.LETS_ENCRYPT, True),
    ("https://acme-staging-v02.api.letsencrypt.org/directory", True),
    ("https://127.0.0.1:14000/dir", False),
    ("https://evil-letsencrypt.org.example/dir", False),
])
def test_public_ca(url, public):
    assert policy.is_public_ca(url) is public


def test_renewal_is_30_days_before_expiry_or_a_third_of_short_lifetimes():
    assert policy.renewal_due(0, 90 * DAY) == 60 * DAY
    assert policy.renewal_due(0, 6 * DAY) == 4 * DAY


def test_retry_delay_doubles_up_to_a_day():
    delays = [policy.retry_delay(n) for n in range(1, 12)]
    assert delays[:4] == [300, 600, 1200, 2400]
    assert delays[-1] == DAY
    assert delays == sorted(delays)
