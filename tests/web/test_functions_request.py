"""What a function or a root main.js receives as C{req} (PROTOCOL.md v2), and how paths reach routes."""

from __future__ import annotations

import base64

from twisted.web.server import Request
from twisted.web.test.requesthelper import DummyChannel

from fazt.runtime.scriptrequest import script_request
from fazt.web.apps import request_scheme
from fazt.web.lockout import parse_networks
from fazt.web.resolve import is_api_path, route_path


def build(uri=b"/api/x?a=1&a=2&b=", headers=((b"Host", [b"shop.example.test:8080"]),), body=b"", **kwargs):
    return script_request(b"post", uri, list(headers), body, "203.0.113.9", "shop.example.test", **kwargs)


def test_url_is_absolute_with_the_clients_host_port_and_scheme():
    assert build()["url"] == "http://shop.example.test:8080/api/x?a=1&a=2&b="
    assert build(scheme="https")["url"] == "https://shop.example.test:8080/api/x?a=1&a=2&b="


def test_part_one_fields_are_kept():
    req = build(uri=b"/caf%C3%A9?q=%C3%A9", headers=[(b"Host", [b"shop.example.test"]), (b"Cookie", [b"a=1; b=2"])])
    assert req["method"] == "POST"
    assert req["path"] == "/café"
    assert req["query"] == "q=%C3%A9"
    assert req["params"] == {"q": "é"}
    assert req["cookies"] == {"a": "1", "b": "2"}
    assert req["ip"] == "203.0.113.9" and req["host"] == "shop.example.test"


def test_a_utf8_body_is_text_and_any_other_is_base64():
    text = build(body="héllo".encode())
    assert (text["body"], text["body_base64"]) == ("héllo", False)
    raw = bytes(range(256))
    binary = build(body=raw)
    assert binary["body_base64"] is True
    assert base64.b64decode(binary["body"]) == raw


def test_route_params_travel_in_route():
    assert build(route_params={"id": "42"})["route"] == {"params": {"id": "42"}}
    assert build()["route"] == {"params": {}}


def test_a_host_header_no_url_can_hold_falls_back_to_the_host():
    req = build(headers=[(b"Host", [b"evil host/../"])])
    assert req["url"] == "http://shop.example.test/api/x?a=1&a=2&b="


def test_absolute_form_request_targets_keep_path_and_query():
    assert build(uri=b"http://shop.example.test/api/y?z=1")["url"] == "http://shop.example.test:8080/api/y?z=1"


def test_route_paths_stay_encoded_and_lose_dot_segments_and_trailing_slashes():
    assert route_path(b"/api/users/a%2Fb") == "/api/users/a%2Fb"
    assert route_path(b"/api/../api/hello/") == "/api/hello"
    assert route_path(b"//api//hello") == "/api/hello"
    assert route_path(b"/../../etc") == "/etc"
    assert route_path(b"/api/\x00") is None


def test_only_api_and_below_are_function_paths():
    assert is_api_path("/api") and is_api_path("/api/x")
    assert not is_api_path("/apix") and not is_api_path("/")


def twisted_request(secure: bool = False, forwarded_proto: str | None = None):
    channel = DummyChannel()
    if secure:
        channel.transport = DummyChannel.SSL()
    request = Request(channel)
    if forwarded_proto is not None:
        request.requestHeaders.setRawHeaders(b"x-forwarded-proto", [forwarded_proto.encode()])
    return request


def test_the_scheme_is_the_listeners_unless_a_trusted_proxy_says_otherwise():
    proxies = parse_networks(["10.0.0.0/8"])
    assert request_scheme(twisted_request(), "203.0.113.9", ()) == "http"
    assert request_scheme(twisted_request(secure=True), "203.0.113.9", ()) == "https"
    # Anyone may send the header; only a configured proxy is believed.
    assert request_scheme(twisted_request(forwarded_proto="https"), "203.0.113.9", ()) == "http"
    assert request_scheme(twisted_request(forwarded_proto="https"), "203.0.113.9", proxies) == "http"
    assert request_scheme(twisted_request(forwarded_proto="https"), "10.1.2.3", proxies) == "https"
    assert request_scheme(twisted_request(forwarded_proto="https"), "::ffff:10.1.2.3", proxies) == "https"
    # The proxy next to us appends last; nonsense keeps the listener's scheme.
    assert request_scheme(twisted_request(forwarded_proto="http, https"), "10.1.2.3", proxies) == "https"
    assert request_scheme(twisted_request(secure=True, forwarded_proto="gopher"), "10.1.2.3", proxies) == "https"
