"""Framing and outcome helpers of the JS worker pipe protocol (fazt/runtime/protocol.py)."""

import json
import struct

import pytest

from fazt.runtime import protocol
from fazt.runtime.protocol import MAX_FRAME, FrameDecoder, ProtocolError, encode_frame

MESSAGES = [
    {"t": "ready", "pid": 1234, "max_runs": 64},
    {"t": "run", "id": 7, "site": "blog", "code": "blog:3", "entry": {"kind": "module", "path": "api/[id].js"},
     "env": {"K": "v"}, "cpu_ms": 100,
     "req": {"method": "GET", "url": "https://blog.test/x?a=1", "path": "/x", "query": "a=1", "params": {"a": "1"},
             "headers": {"host": "blog.test"}, "body": "", "body_base64": False, "ip": "127.0.0.1",
             "host": "blog.test", "cookies": {}, "route": {"params": {"id": "x"}}}},
    {"t": "call", "id": 4, "run": 7, "fn": "module.source", "args": ["api/[id].js"], "sync": False},
    {"t": "reply", "id": 3, "ok": True, "value": {"nested": [1, 2.5, None, "ünïcødé ☃ 𝄞"]}},
    {"t": "done", "id": 7, "response": {"status": 200, "headers": [["content-type", "text/html"]], "body": "x" * 70000,
                                        "body_base64": False}, "logs": [["info", "hello"]]},
]


def test_round_trip():
    decoder = FrameDecoder()
    for message in MESSAGES:
        assert decoder.feed(encode_frame(message)) == [message]
    assert decoder.buffered == 0


def test_frame_layout_is_length_prefixed_utf8_json():
    frame = encode_frame({"t": "pong"})
    (length,) = struct.unpack(">I", frame[:4])
    assert length == len(frame) - 4
    assert json.loads(frame[4:].decode("utf-8")) == {"t": "pong"}


def test_byte_by_byte_feed():
    stream = b"".join(encode_frame(m) for m in MESSAGES)
    decoder = FrameDecoder()
    received = []
    for i in range(len(stream)):
        received.extend(decoder.feed(stream[i:i + 1]))
    assert received == MESSAGES


def test_split_anywhere_and_many_frames_per_feed():
    stream = b"".join(encode_frame(m) for m in MESSAGES)
    for cut in (1, 3, 4, 5, 17, len(stream) // 2, len(stream) - 1):
        decoder = FrameDecoder()
        assert decoder.feed(stream[:cut]) + decoder.feed(stream[cut:]) == MESSAGES
    assert FrameDecoder().feed(stream) == MESSAGES


def test_lone_surrogates_fall_back_to_ascii_escapes():
    message = {"t": "done", "body": "bad \ud800 surrogate"}
    assert FrameDecoder().feed(encode_frame(message)) == [message]


def test_oversize_frames_are_rejected_on_both_sides():
    with pytest.raises(ProtocolError):
        encode_frame({"body": "x" * (MAX_FRAME + 1)})
    decoder = FrameDecoder()
    with pytest.raises(ProtocolError):  # refused as soon as the header arrives
        decoder.feed(struct.pack(">I", MAX_FRAME + 1) + b"{")


def test_largest_frame_is_accepted():
    message = {"b": ""}
    message["b"] = "x" * (MAX_FRAME - len(json.dumps(message, separators=(",", ":"))))
    frame = encode_frame(message)
    assert len(frame) == MAX_FRAME + 4
    assert FrameDecoder().feed(frame) == [message]


@pytest.mark.parametrize("payload", [b"not json", b"\xff\xfe{}", b"[1, 2]", b'"string"', b"{"])
def test_garbage_is_rejected(payload):
    with pytest.raises(ProtocolError):
        FrameDecoder().feed(struct.pack(">I", len(payload)) + payload)


def test_encoder_rejects_non_objects_and_unserializable_values():
    with pytest.raises(ProtocolError):
        encode_frame([1, 2])
    with pytest.raises(ProtocolError):
        encode_frame({"x": object()})


def test_logs_are_cut_to_the_protocol_limits():
    logs = [["info", "é" * 5000]] + [["debug", "x"]] * 250 + [["bogus", "y"]]
    cleaned = protocol.clean_logs(logs)
    assert len(cleaned) == protocol.MAX_LOG_LINES + 1
    assert len(cleaned[0][1].encode("utf-8")) <= protocol.MAX_LOG_BYTES
    assert cleaned[-1] == ["warn", "52 more log lines dropped (limit 200 per request)"]


def test_invalid_responses_become_failures():
    bad_header = {"status": 200, "headers": [["x-a", "1\r\nset-cookie: evil=1"]], "body": ""}
    for response in ({"status": 42, "headers": [], "body": ""}, bad_header, {"status": 200, "body": 5}):
        outcome = protocol.done(response, [])
        assert outcome["t"] == "failed" and outcome["kind"] == "exception"
    outcome = protocol.done({"status": 201, "headers": [["x-a", "1"]], "body": "ok"}, [], 3.5)
    assert outcome == {"t": "done", "logs": [], "cpu_ms": 3.5,
                       "response": {"status": 201, "headers": [["x-a", "1"]], "body": "ok", "body_base64": False}}


def test_failures_carry_their_cpu_and_a_method_failure_its_allow_list():
    method = protocol.failed("method", "no handler for PUT", None, [], 1.25, ["GET", "POST", 3])
    assert (method["kind"], method["allow"], method["cpu_ms"]) == ("method", ["GET", "POST"], 1.25)
    timeout = protocol.failed("timeout", "CPU time limit exceeded", None, [], cpu_ms=101.0, allow=["GET"])
    assert "allow" not in timeout and timeout["cpu_ms"] == 101.0
    for bad in (None, "7", True, -1, float("nan")):
        assert protocol.failed("exception", "x", None, [], bad)["cpu_ms"] == 0.0
