"""
A C{multipart/form-data} request body that streams one file from disk.

The body is three pieces: a preamble (the text fields and the file part's
headers), the file's bytes read in fixed-size chunks, and the closing
boundary. Its length is known up front, so it can be sent with a
C{Content-Length} header and never has to be held in memory.
"""

import os
import secrets
from typing import Iterator, Mapping

from fazt.cli.errors import CliError

UPLOAD_CHUNK_SIZE = 64 * 1024


class FileChangedError(CliError):
    """The file being sent changed size after its length was announced."""


class MultipartFileBody:
    """
    A multipart form with text fields and one file, read lazily.

    @ivar content_type: the value of the request's C{Content-Type} header.
    @ivar content_length: the exact size of the body in bytes.
    """

    def __init__(
        self,
        fields: Mapping[str, str],
        file_field: str,
        file_path: str,
        file_name: str,
        file_content_type: str,
        chunk_size: int = UPLOAD_CHUNK_SIZE,
    ):
        """
        @param fields: the text fields, sent in order before the file.
        @param file_field: the form name of the file part.
        @param file_path: where the file to send is on disk.
        @param file_name: the file name announced to the server.
        @param file_content_type: the MIME type of the file part.
        @param chunk_size: how many bytes of the file to read at a time.
        """
        self.boundary = "fazt-" + secrets.token_hex(16)
        self.file_path = file_path
        self.chunk_size = chunk_size
        self.file_size = os.path.getsize(file_path)
        self.preamble = self._preamble(fields, file_field, file_name, file_content_type)
        self.epilogue = f"\r\n--{self.boundary}--\r\n".encode("ascii")
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self.content_length = len(self.preamble) + self.file_size + len(self.epilogue)

    def _preamble(
        self, fields: Mapping[str, str], file_field: str, file_name: str, file_content_type: str
    ) -> bytes:
        """Return the bytes that come before the file's content."""
        pieces = []
        for name, value in fields.items():
            pieces.append(
                f"--{self.boundary}\r\n"
                f'Content-Disposition: form-data; name="{_quoted(name)}"\r\n'
                "\r\n"
                f"{value}\r\n"
            )
        pieces.append(
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{_quoted(file_field)}"; '
            f'filename="{_quoted(file_name)}"\r\n'
            f"Content-Type: {file_content_type}\r\n"
            "\r\n"
        )
        return "".join(pieces).encode("utf-8")

    def chunks(self) -> Iterator[bytes]:
        """
        Yield the whole body: the preamble, the file in chunks of at most
        C{chunk_size} bytes, then the closing boundary.

        @raise FileChangedError: if the file changed size since this body was
            made, which would make C{content_length} a lie.
        """
        yield self.preamble
        sent_from_file = 0
        with open(self.file_path, "rb") as upload_file:
            while True:
                chunk = upload_file.read(self.chunk_size)
                if not chunk:
                    break
                sent_from_file += len(chunk)
                if sent_from_file > self.file_size:
                    break
                yield chunk
        if sent_from_file != self.file_size:
            raise FileChangedError(f"{self.file_path} changed size while it was being sent")
        yield self.epilogue


def _quoted(value: str) -> str:
    """Escape a value for a quoted Content-Disposition parameter."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")
