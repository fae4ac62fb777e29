"""Worker-local Python functions behind the Web platform globals (fazt/runtime/js/web/*.js).

The worker exports every entry of ``LOCAL_FUNCTIONS`` into each interpreter with
``interpreter.export_function(name, fn)``; scripts reach them only through the Web APIs
(``new URL``, ``crypto.subtle``, ``Request.formData()``...), never over the pipe to the parent.
They run in the worker's main thread under the current request's CPU budget, so every input is
capped. Arguments and results are JSON. Bytes cross as "binary strings", one character per byte
(U+0000-U+00FF), which QuickJS slices, joins and converts natively (a byte-by-byte JS loop costs
~150 ns a byte), or as ``{"base64": text}`` when that is the form the script's side holds (a body
from the wire): every function taking bytes accepts both.

The work is done by the libraries made for it: ``ada-url`` (the WHATWG URL parser Node uses),
``hashlib``/``hmac``/``secrets`` and ``python-multipart``. A function raises ``ValueError`` for
bad input: dukpy turns that into a catchable JS error, and the JS side turns the expected cases
into the error the standard asks for before calling here.
"""

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import uuid

import ada_url
from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header

MAX_URL_CHARS = 1 << 20  # a URL is text: one MiB is far beyond any real one
MAX_DATA_BYTES = 32 << 20  # hashing, HMAC and multipart input (the interpreter's heap is 128 MiB)
MAX_RANDOM_BYTES = 65536  # crypto.getRandomValues' own quota
MAX_MULTIPART_PARTS = 1000
MAX_MULTIPART_HEADER_BYTES = 16384

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_ASCII_WHITESPACE = re.compile("[\t\n\f\r ]+")
_BASE64_ALPHABET = re.compile("[A-Za-z0-9+/]*")
_HASHES = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
_URL_PARTS = ("href", "origin", "protocol", "username", "password", "host", "hostname", "port",
              "pathname", "search", "hash")
_URL_SETTERS = frozenset(("href", "protocol", "username", "password", "host", "hostname", "port",
                          "pathname", "search", "hash"))


def _text(value, limit=MAX_URL_CHARS):
    if not isinstance(value, str):
        raise ValueError("expected a string")
    if len(value) > limit:
        raise ValueError(f"string longer than {limit} characters")
    # A USVString, as the standard converts it: a lone surrogate (JSON lets one through) becomes
    # U+FFFD instead of making the UTF-8 encoding fail.
    return _LONE_SURROGATE.sub("\ufffd", value)


def _bytes(binary, limit=MAX_DATA_BYTES):
    """The bytes a binary string (or ``{"base64": text}``) stands for."""
    if isinstance(binary, dict) and binary.keys() == {"base64"}:
        text = binary["base64"]
        if not isinstance(text, str) or len(text) > (limit + 2) // 3 * 4:
            raise ValueError(f"data must be base64 of at most {limit} bytes")
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            raise ValueError("invalid base64 data") from None
    if not isinstance(binary, str) or len(binary) > limit:
        raise ValueError(f"data must be a binary string of at most {limit} bytes")
    try:
        return binary.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("not a binary string (a character above U+00FF)") from None


def _binary(data):
    return data.decode("latin-1")


def _hash_name(name):
    try:
        return _HASHES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unsupported hash {name!r}") from None


def _url_record(url):
    return {part: getattr(url, part) for part in _URL_PARTS}


def url_parse(text, base=None):
    """Parse ``text`` (against ``base`` if given) as the WHATWG URL parser does.

    Returns the URL's parts (``href``, ``origin``, ``protocol``... as the ``URL`` getters give
    them), or None when the input is not a valid URL.
    """
    text = _text(text)
    base = None if base is None else _text(base)
    try:
        return _url_record(ada_url.URL(text, base))
    except ValueError:
        return None


def url_set(href, part, value):
    """Apply the ``URL`` setter ``part`` with ``value`` to the URL ``href``.

    Returns the new parts; an invalid value leaves the URL as it was (the standard's setters
    ignore such input), except for ``href``, where None is returned (the JS side throws).
    """
    if part not in _URL_SETTERS:
        raise ValueError(f"unknown URL part {part!r}")
    url = ada_url.URL(_text(href))
    try:
        setattr(url, part, _text(value))
    except ValueError:
        if part == "href":
            return None
    return _url_record(url)


def crypto_digest(algorithm, data):
    """The SHA-1/256/384/512 digest of ``data``."""
    return _binary(hashlib.new(_hash_name(algorithm), _bytes(data)).digest())


def crypto_hmac(algorithm, key, data):
    """HMAC of ``data`` under ``key`` with the named hash."""
    return _binary(hmac.new(_bytes(key), _bytes(data), _hash_name(algorithm)).digest())


def crypto_hmac_verify(algorithm, key, signature, data):
    """Whether ``signature`` is the HMAC of ``data`` (compared in constant time)."""
    expected = hmac.new(_bytes(key), _bytes(data), _hash_name(algorithm)).digest()
    return hmac.compare_digest(expected, _bytes(signature))


def crypto_random(count):
    """``count`` (at most 65536) cryptographically strong random bytes."""
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_RANDOM_BYTES:
        raise ValueError(f"byte count must be between 0 and {MAX_RANDOM_BYTES}")
    return _binary(secrets.token_bytes(count))


def crypto_uuid():
    """A random (version 4) UUID string."""
    return str(uuid.uuid4())


class _FormParts:
    """python-multipart callbacks that collect every part with its headers, byte for byte."""

    def __init__(self):
        self.parts = []
        self.ended = False
        self._field = b""
        self._value = b""
        self._headers = {}
        self._data = []
        self._header_bytes = 0

    def callbacks(self):
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._on_field,
            "on_header_value": self._on_value,
            "on_header_end": self._header_end,
            "on_part_data": self._on_data,
            "on_part_end": self._end,
            "on_end": self._finished,
        }

    def _begin(self):
        if len(self.parts) >= MAX_MULTIPART_PARTS:
            raise ValueError(f"more than {MAX_MULTIPART_PARTS} parts")
        self._headers, self._data, self._header_bytes = {}, [], 0

    def _grow(self, size):
        self._header_bytes += size
        if self._header_bytes > MAX_MULTIPART_HEADER_BYTES:
            raise ValueError("part headers too large")

    def _on_field(self, data, start, end):
        self._grow(end - start)
        self._field += data[start:end]

    def _on_value(self, data, start, end):
        self._grow(end - start)
        self._value += data[start:end]

    def _header_end(self):
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("latin-1")
        self._field = self._value = b""

    def _on_data(self, data, start, end):
        self._data.append(data[start:end])

    def _end(self):
        self.parts.append(_form_entry(self._headers, b"".join(self._data)))

    def _finished(self):
        self.ended = True


def _form_entry(headers, body):
    disposition, options = parse_options_header(headers.get("content-disposition"))
    if disposition != b"form-data" or b"name" not in options:
        raise ValueError("a part without Content-Disposition: form-data; name=...")
    name = options[b"name"].decode("utf-8", "replace")
    if b"filename" not in options:
        return {"name": name, "value": body.decode("utf-8", "replace")}
    return {
        "name": name,
        "filename": options[b"filename"].decode("utf-8", "replace"),
        # The Fetch standard's multipart/form-data parser: a file part without a type is text/plain.
        "type": headers.get("content-type", "text/plain"),
        "base64": base64.b64encode(body).decode("ascii"),
    }


def multipart_parse(content_type, data):
    """Parse a multipart/form-data body sent with ``content_type``.

    Returns the entries in order: ``{"name", "value"}`` for fields and ``{"name", "filename",
    "type", "base64"}`` for files, bytes exactly as sent. Raises ValueError for a body that is
    not valid multipart/form-data (the JS side rejects ``formData()`` with a TypeError).
    """
    mime, options = parse_options_header(_text(content_type, 4096))
    boundary = options.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise ValueError("not multipart/form-data with a boundary")
    collected = _FormParts()
    parser = MultipartParser(boundary, collected.callbacks(), max_size=MAX_DATA_BYTES)
    try:
        parser.write(_bytes(data))
        parser.finalize()
    except ParseError as exc:
        raise ValueError(f"invalid multipart body: {exc}") from None
    if not collected.ended:
        raise ValueError("invalid multipart body: no closing boundary")
    return collected.parts


def to_base64(data):
    """Base64 (RFC 4648, padded) of the binary string ``data``."""
    return base64.b64encode(_bytes(data)).decode("ascii")


def from_base64(text, forgiving=False):
    """The binary string that base64 ``text`` encodes, or None if it is not valid base64.

    ``forgiving`` applies the Infra standard's forgiving-base64 decode (what ``atob`` does):
    ASCII whitespace is ignored and the padding may be left out.
    """
    if not isinstance(text, str) or len(text) > (MAX_DATA_BYTES + 2) // 3 * 4 + 4096:
        raise ValueError(f"base64 text longer than the {MAX_DATA_BYTES} bytes limit")
    if forgiving:
        text = _ASCII_WHITESPACE.sub("", text)
        if len(text) % 4 == 0 and text.endswith("="):
            text = text[:-2] if text.endswith("==") else text[:-1]
        if len(text) % 4 == 1 or not _BASE64_ALPHABET.fullmatch(text):
            return None
        text += "=" * (-len(text) % 4)
    try:
        return _binary(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return None


def text_decode(data, fatal=False):
    """Decode UTF-8 bytes: invalid sequences become U+FFFD (maximal subparts, as the Encoding
    standard says), or raise ValueError when ``fatal``. A BOM is kept (the caller decides)."""
    try:
        return _bytes(data).decode("utf-8", "strict" if fatal else "replace")
    except UnicodeDecodeError:
        raise ValueError("The encoded data was not valid utf-8") from None


LOCAL_FUNCTIONS = {
    "web.bytes.to_base64": to_base64,
    "web.bytes.from_base64": from_base64,
    "web.text.decode": text_decode,
    "web.url.parse": url_parse,
    "web.url.set": url_set,
    "web.crypto.digest": crypto_digest,
    "web.crypto.hmac": crypto_hmac,
    "web.crypto.hmac_verify": crypto_hmac_verify,
    "web.crypto.random": crypto_random,
    "web.crypto.uuid": crypto_uuid,
    "web.multipart.parse": multipart_parse,
}


WEB_DIR = os.path.join(os.path.dirname(__file__), "js", "web")


def web_sources():
    """The Web API files as ``[(module_name, source)]``, in the order ``js/web/ORDER`` lists them."""
    with open(os.path.join(WEB_DIR, "ORDER"), encoding="utf-8") as order:
        names = [line.strip() for line in order if line.strip() and not line.startswith("#")]
    sources = []
    for name in names:
        with open(os.path.join(WEB_DIR, name), encoding="utf-8") as source:
            sources.append((f"fazt:web/{name.removesuffix('.js')}", source.read()))
    return sources


def install(interpreter, sources=None):
    """Export ``LOCAL_FUNCTIONS`` into ``interpreter`` and evaluate the Web API files in order.

    Call it before the prelude. ``sources`` defaults to ``web_sources()`` (read once by the
    caller if it creates many interpreters).
    """
    for name, function in LOCAL_FUNCTIONS.items():
        interpreter.export_function(name, function)
    for module_name, source in web_sources() if sources is None else sources:
        interpreter.evaluate_module(source, module_name)
