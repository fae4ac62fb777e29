"""Image variants (SPEC §15): /.fazt/image/PATH?w=&h=&fit=&fm=&q= on a site's host, over a real socket."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest
import pytest_twisted
from PIL import Image

from fazt_testing import sql, start_server, stop_server

HOST = "pics.example.test"
CONFIG = json.dumps({"images": {"widths": [320, 640]}})


def photo(size=(1600, 1200), fmt="JPEG") -> bytes:
    image = Image.new("RGB", size)
    for x in range(0, size[0], 50):  # some detail, so the encoders have work
        image.paste((x % 256, 80, 160), (x, 0, x + 25, size[1]))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge canvas in a few bytes (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


FILES = {
    "fazt.json": CONFIG,
    "photo.jpg": photo(),
    "logo.png": photo((800, 400), "PNG"),
    "notes.txt": "not an image",
    "fake.png": "this is text with an image's name",
    "bomb.png": png_header_only(8000, 8000),
    "huge.png": png_header_only(50000, 50000),
}


async def deploy(server, files, site="pics"):
    response = await server.deploy(site, files)
    assert response.code == 200, response.body


def variants(server) -> int:
    return sql(server.db, "SELECT COUNT(*) FROM derived_blobs")[0][0]


def decoded(response):
    image = Image.open(io.BytesIO(response.body))
    return image.format, image.size


def error_code(response, status):
    assert (response.code, response.header("content-type")) == (status, "application/json"), response.body
    return response.json()["error"]["code"]


@pytest_twisted.ensureDeferred
async def test_a_variant_has_the_asked_size_and_format_and_is_made_once(server):
    await deploy(server, FILES)
    first = await server.get("/.fazt/image/photo.jpg?w=640&fm=webp&q=75", HOST)
    assert first.code == 200, first.body
    assert first.header("content-type") == "image/webp"
    assert decoded(first) == ("WEBP", (640, 480))
    assert variants(server) == 1
    etag = first.header("etag")
    assert etag and first.header("last-modified") and first.header("cache-control")
    # The same variant, asked again (parameters in another order, an unknown one ignored): not made again.
    again = await server.get("/.fazt/image/photo.jpg?q=75&fm=webp&w=640&v=2", HOST)
    assert (again.code, again.body, again.header("etag")) == (200, first.body, etag)
    assert variants(server) == 1
    fresh = await server.get("/.fazt/image/photo.jpg?w=640&fm=webp&q=75", HOST, if_none_match=etag)
    assert (fresh.code, fresh.body) == (304, b"")
    assert variants(server) == 1

    covered = await server.get("/.fazt/image/photo.jpg?w=320&h=320&fit=cover&fm=png", HOST)
    assert decoded(covered) == ("PNG", (320, 320))
    contained = await server.get("/.fazt/image/photo.jpg?w=320&h=320&fit=contain&fm=jpeg&q=50", HOST)
    assert decoded(contained) == ("JPEG", (320, 240))
    avif = await server.get("/.fazt/image/logo.png?w=320&fm=avif", HOST)
    assert (avif.code, avif.header("content-type")) == (200, "image/avif")
    assert decoded(avif) == ("AVIF", (320, 160))
    kept = await server.get("/.fazt/image/logo.png?w=640", HOST)   # no fm: the source's format
    assert decoded(kept) == ("PNG", (640, 320))
    assert variants(server) == 5
    head = await server.request("HEAD", "/.fazt/image/logo.png?w=640", HOST)
    assert (head.code, head.body, head.header("etag")) == (200, b"", kept.header("etag"))
    assert variants(server) == 5


@pytest_twisted.ensureDeferred
async def test_what_cannot_be_made_is_refused_clearly(server):
    await deploy(server, FILES)
    for query, code in (("w=500", "INVALID_IMAGE_PARAMS"), ("fm=webp", "INVALID_IMAGE_PARAMS"),
                        ("w=640&q=0", "INVALID_IMAGE_PARAMS"), ("w=640&q=101", "INVALID_IMAGE_PARAMS"),
                        ("w=640&q=high", "INVALID_IMAGE_PARAMS"), ("w=640&fit=stretch", "INVALID_IMAGE_PARAMS"),
                        ("w=640&fm=gif", "INVALID_IMAGE_PARAMS"), ("w=640&h=500", "INVALID_IMAGE_PARAMS")):
        response = await server.get(f"/.fazt/image/photo.jpg?{query}", HOST)
        assert error_code(response, 400) == code, query
    assert error_code(await server.get("/.fazt/image/notes.txt?w=320", HOST), 400) == "NOT_AN_IMAGE"
    assert error_code(await server.get("/.fazt/image/fake.png?w=320", HOST), 400) == "NOT_AN_IMAGE"
    bomb = await server.get("/.fazt/image/bomb.png?w=320", HOST)
    assert error_code(bomb, 400) == "IMAGE_TOO_LARGE"
    assert "8000x8000" in bomb.json()["error"]["message"]
    assert error_code(await server.get("/.fazt/image/huge.png?w=320", HOST), 400) == "IMAGE_TOO_LARGE"
    assert error_code(await server.get("/.fazt/image/missing.jpg?w=320", HOST), 404) == "NOT_FOUND"
    assert error_code(await server.get("/.fazt/image/fazt.json?w=320", HOST), 404) == "NOT_FOUND"
    assert error_code(await server.request("POST", "/.fazt/image/photo.jpg?w=320", HOST), 405) == "METHOD_NOT_ALLOWED"
    assert variants(server) == 0

    await deploy(server, {"photo.jpg": FILES["photo.jpg"]}, site="plain")
    off = await server.get("/.fazt/image/photo.jpg?w=320", "plain.example.test")
    assert error_code(off, 400) == "IMAGES_DISABLED"


@pytest_twisted.ensureDeferred
async def test_variants_go_with_their_site(server):
    await deploy(server, FILES)
    assert (await server.get("/.fazt/image/photo.jpg?w=320", HOST)).code == 200
    assert variants(server) == 1
    deleted = await server.request("DELETE", "/api/sites/pics",
                                   headers={"Authorization": f"Bearer {server.admin_token}"})
    assert deleted.code == 200, deleted.body
    assert variants(server) == 0


def test_avif_is_refused_with_a_reason_where_pillow_cannot_write_it():
    from fazt.images.params import ImageRequestError, parse_images_config, parse_spec

    config = parse_images_config(CONFIG)
    try:
        parse_spec({b"w": [b"320"], b"fm": [b"avif"]}, config, "image/png", avif=False)
    except ImageRequestError as error:
        assert error.code == "INVALID_IMAGE_PARAMS" and "cannot write AVIF" in str(error)
    else:
        raise AssertionError("avif was accepted")
    assert parse_spec({b"w": [b"320"], b"fm": [b"avif"]}, config, "image/png", avif=True).fmt == "avif"


@pytest.fixture
def small_limit_server(tmp_path):
    live = start_server(str(tmp_path / "data.db"), extra_args=("--image-max-mpx", "1"))
    yield live
    stop_server(live)


@pytest_twisted.ensureDeferred
async def test_the_pixel_limit_is_an_option(small_limit_server):
    server = small_limit_server
    await deploy(server, {"fazt.json": CONFIG, "photo.jpg": FILES["photo.jpg"], "small.png": photo((900, 600), "PNG")})
    refused = await server.get("/.fazt/image/photo.jpg?w=320", HOST)   # 1600 x 1200: 1.92 million pixels
    assert error_code(refused, 400) == "IMAGE_TOO_LARGE" and "1600x1200" in refused.json()["error"]["message"]
    assert decoded(await server.get("/.fazt/image/small.png?w=320", HOST)) == ("PNG", (320, 213))
