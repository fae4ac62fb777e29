"""What a function or a root main.js receives as C{req} (PROTOCOL.md v2), and how paths reach routes."""

from __future__ import annotations

import base64

from fazt.runtime.scriptrequest import script_request
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
