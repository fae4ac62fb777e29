"""Worker-local Python functions behind the Web platform globals (fazt/runtime/js/web/*.js).

The worker exports every entry of ``LOCAL_FUNCTIONS`` into each interpreter with
``interpreter.export_function(name, fn)``; scripts reach them only through the Web APIs
(``new URL``, ``crypto.subtle``, ``Request.formData()``...), never over the pipe to the parent.
They run in the worker's main thread under the current request's CPU budget, so every input is
capped; how their arguments and results cross (JSON, bytes as binary strings) is
L{fazt.runtime.webvalues}.

The work is done by the libraries made for it: ``ada-url`` (the WHATWG URL parser Node uses),
``hashlib``/``hmac``/``secrets`` and ``python-multipart`` (L{fazt.runtime.webmultipart}). A
function raises ``ValueError`` for bad input: dukpy turns that into a catchable JS error, and the
JS side turns the expected cases into the error the standard asks for before calling here.
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

from fazt.runtime.webmultipart import multipart_parse
from fazt.runtime.webvalues import MAX_DATA_BYTES, binary, data_bytes, usv

MAX_RANDOM_BYTES = 65536  # crypto.getRandomValues' own quota

_ASCII_WHITESPACE = re.compile("[\t\n\f\r ]+")
_BASE64_ALPHABET = re.compile("[A-Za-z0-9+/]*")
_HASHES = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
_URL_PARTS = ("href", "origin", "protocol", "username", "password", "host", "hostname", "port",
              "pathname", "search", "hash")
_URL_SETTERS = frozenset(("href", "protocol", "username", "password", "host", "hostname", "port",
                          "pathname", "search", "hash"))


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
    text = usv(text)
    base = None if base is None else usv(base)
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
    url = ada_url.URL(usv(href))
    try:
        setattr(url, part, usv(value))
    except ValueError:
        if part == "href":
            return None
    return _url_record(url)


def crypto_digest(algorithm, data):
    """The SHA-1/256/384/512 digest of ``data``."""
    return binary(hashlib.new(_hash_name(algorithm), data_bytes(data)).digest())


def crypto_hmac(algorithm, key, data):
    """HMAC of ``data`` under ``key`` with the named hash."""
    return binary(hmac.new(data_bytes(key), data_bytes(data), _hash_name(algorithm)).digest())


def crypto_hmac_verify(algorithm, key, signature, data):
    """Whether ``signature`` is the HMAC of ``data`` (compared in constant time)."""
    expected = hmac.new(data_bytes(key), data_bytes(data), _hash_name(algorithm)).digest()
    return hmac.compare_digest(expected, data_bytes(signature))


def crypto_random(count):
    """``count`` (at most 65536) cryptographically strong random bytes."""
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_RANDOM_BYTES:
        raise ValueError(f"byte count must be between 0 and {MAX_RANDOM_BYTES}")
    return binary(secrets.token_bytes(count))


def crypto_uuid():
    """A random (version 4) UUID string."""
    return str(uuid.uuid4())


def to_base64(data):
    """Base64 (RFC 4648, padded) of the binary string ``data``."""
    return base64.b64encode(data_bytes(data)).decode("ascii")


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
        return binary(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return None


def text_decode(data, fatal=False):
    """Decode UTF-8 bytes: invalid sequences become U+FFFD (maximal subparts, as the Encoding
    standard says), or raise ValueError when ``fatal``. A BOM is kept (the caller decides)."""
    try:
        return data_bytes(data).decode("utf-8", "strict" if fatal else "replace")
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
