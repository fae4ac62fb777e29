"""The state fazt keeps about a request is declared on FaztRequest, with its defaults."""

from __future__ import annotations

from twisted.web.test.requesthelper import DummyChannel

from fazt.web.request import FaztRequest


def test_a_new_request_has_no_principal_no_metrics_and_is_not_watched():
    request = FaztRequest(DummyChannel())
    assert (request.fazt_principal, request.fazt_metrics, request._fazt_gone) == (None, None, None)
