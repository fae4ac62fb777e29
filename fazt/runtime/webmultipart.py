"""multipart/form-data bodies parsed for ``Request.formData()``, worker-local (``web.multipart.parse``).

python-multipart does the parsing (L{fazt.runtime.webhost} exports L{multipart_parse} to the
interpreters); every part is kept byte for byte, with caps on the number of parts and the size of
their headers, since it runs under the request's CPU budget.
"""

import base64

from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from fazt.runtime.webvalues import MAX_DATA_BYTES, data_bytes, usv

MAX_MULTIPART_PARTS = 1000
MAX_MULTIPART_HEADER_BYTES = 16384


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
    mime, options = parse_options_header(usv(content_type, 4096))
    boundary = options.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise ValueError("not multipart/form-data with a boundary")
    collected = _FormParts()
    parser = MultipartParser(boundary, collected.callbacks(), max_size=MAX_DATA_BYTES)
    try:
        parser.write(data_bytes(data))
        parser.finalize()
    except ParseError as exc:
        raise ValueError(f"invalid multipart body: {exc}") from None
    if not collected.ended:
        raise ValueError("invalid multipart body: no closing boundary")
    return collected.parts
