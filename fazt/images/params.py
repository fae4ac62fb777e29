"""What an image variant request asks for (pure): C{fazt.json}'s C{images} and the query.

C{"images": {"widths": [320, 640, 1280]}} enables C{/.fazt/image/PATH?w=&h=&fit=&fm=&q=}. Only the
listed widths are made (each variant is stored, so the list bounds what a visitor can make us
store); C{h} is allowed when listed in C{images.heights}, which defaults to the widths.
The parameters are normalized into one key, so C{?w=640} and C{?fm=webp&w=640} share a variant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

FORMATS = {"webp": "image/webp", "avif": "image/avif", "jpeg": "image/jpeg", "png": "image/png"}
# The output format when none is asked: the source's own where it is one of FORMATS.
SOURCE_FORMATS = {"image/webp": "webp", "image/avif": "avif", "image/jpeg": "jpeg", "image/png": "png"}
FITS = ("contain", "cover")
DEFAULT_QUALITY = 75
MAX_LIST = 32
MAX_SIDE = 8192


class ImageRequestError(ValueError):
    """A variant that cannot be made; C{code} and the message go to the client with a 400."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ImagesConfig:
    """The sizes a site allows."""

    widths: frozenset
    heights: frozenset


@dataclass(frozen=True)
class VariantSpec:
    """One normalized variant: C{key} names it in the store."""

    width: int
    height: Optional[int]
    fit: str
    fmt: str
    quality: int

    @property
    def key(self) -> str:
        return f"w={self.width},h={self.height or ''},fit={self.fit},fm={self.fmt},q={self.quality}"

    @property
    def content_type(self) -> str:
        return FORMATS[self.fmt]


def parse_images_config(text: str) -> Optional[ImagesConfig]:
    """The C{images} object of a C{fazt.json}'s text; None when absent or unusable."""
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        return None
    images = config.get("images") if isinstance(config, dict) else None
    if not isinstance(images, dict):
        return None
    widths = _sizes(images.get("widths"))
    if not widths:
        return None
    heights = _sizes(images.get("heights")) if "heights" in images else widths
    return ImagesConfig(widths, heights or frozenset())


def _sizes(value: object) -> frozenset:
    if not isinstance(value, list) or len(value) > MAX_LIST:
        return frozenset()
    return frozenset(v for v in value if isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_SIDE)


def parse_spec(args: dict, config: Optional[ImagesConfig], source_type: str, avif: bool) -> VariantSpec:
    """The variant a query (C{request.args}) asks for; raises L{ImageRequestError}.

    C{avif} says whether the installed Pillow can write AVIF.
    """
    if config is None:
        raise ImageRequestError("IMAGES_DISABLED", 'image variants are off for this site: list the allowed '
                                'widths in fazt.json, e.g. {"images": {"widths": [320, 640, 1280]}}')
    width = _int(args, "w")
    if width is None:
        raise ImageRequestError("INVALID_IMAGE_PARAMS", "w (the width) is required")
    if width not in config.widths:
        raise ImageRequestError("INVALID_IMAGE_PARAMS", f"w={width} is not an allowed width "
                                f"(fazt.json images.widths: {sorted(config.widths)})")
    height = _int(args, "h")
    if height is not None and height not in config.heights:
        raise ImageRequestError("INVALID_IMAGE_PARAMS", f"h={height} is not an allowed height "
                                f"(fazt.json images.heights: {sorted(config.heights)})")
    fit = _text(args, "fit") or "contain"
    if fit not in FITS:
        raise ImageRequestError("INVALID_IMAGE_PARAMS", "fit must be cover or contain")
    fmt = _text(args, "fm") or SOURCE_FORMATS.get(source_type, "png")
    if fmt == "jpg":
        fmt = "jpeg"
    if fmt not in FORMATS:
        raise ImageRequestError("INVALID_IMAGE_PARAMS", "fm must be avif, webp, jpeg or png")
    if fmt == "avif" and not avif:
        raise ImageRequestError("INVALID_IMAGE_PARAMS", "fm=avif is not available: this server's Pillow "
                                "cannot write AVIF (use webp)")
    quality = _int(args, "q")
    if quality is not None and not 1 <= quality <= 100:
        raise ImageRequestError("INVALID_IMAGE_PARAMS", "q (the quality) must be from 1 to 100")
    if fmt == "png":
        quality = 0  # lossless: q means nothing, and must not make distinct variants
    return VariantSpec(width, height, fit if height is not None else "contain", fmt,
                       quality or (0 if fmt == "png" else DEFAULT_QUALITY))


def _text(args: dict, name: str) -> Optional[str]:
    values = args.get(name.encode("ascii"))
    if not values:
        return None
    return values[0].decode("latin-1").strip().lower()


def _int(args: dict, name: str) -> Optional[int]:
    text = _text(args, name)
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 6:
        raise ImageRequestError("INVALID_IMAGE_PARAMS", f"{name} must be a whole number")
    return int(text)
