"""Making one image variant with Pillow (synchronous: runs on the image thread pool, never the reactor).

The source's size is read from its header and checked against a pixel limit before anything is
decoded, so a small file that claims a huge canvas (a decompression bomb) costs nothing; Pillow's
own L{Image.DecompressionBombError} is answered the same way.
"""

from __future__ import annotations

import hashlib
import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError, features

from fazt.images.params import ImageRequestError, VariantSpec
from fazt.store.variants import Variant

# 40 million pixels (--image-max-mpx): a 7,000 x 5,700 photograph decodes to ~160 MB of RGBA;
# beyond, refused.
MAX_PIXELS = 40_000_000
_SAVE = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF"}


def can_write_avif() -> bool:
    """Whether the installed Pillow can write AVIF."""
    return bool(features.check("avif"))


def make_variant(data: bytes, spec: VariantSpec, max_pixels: int = MAX_PIXELS) -> Variant:
    """The variant C{spec} of the image C{data}; raises L{ImageRequestError} for what cannot be made."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            _check_size(image.width, image.height, max_pixels)
            if image.format == "JPEG":
                image.draft("RGB", (spec.width, spec.height or spec.width))  # decode at a smaller scale
            image.load()
    except ImageRequestError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRequestError("IMAGE_TOO_LARGE", f"the source image is too large to resize ({error})") from None
    except UnidentifiedImageError:
        raise ImageRequestError("NOT_AN_IMAGE", "the file is not an image Pillow can read") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageRequestError("NOT_AN_IMAGE", f"the image cannot be decoded: {error}") from None
    image = ImageOps.exif_transpose(image)
    resized = _resize(image, spec)
    if spec.fmt == "jpeg" and resized.mode != "RGB":
        resized = resized.convert("RGB")
    elif resized.mode not in ("RGB", "RGBA", "L", "LA"):
        resized = resized.convert("RGBA")
    out = io.BytesIO()
    options = {} if spec.fmt == "png" else {"quality": spec.quality}
    resized.save(out, _SAVE[spec.fmt], **options)
    body = out.getvalue()
    return Variant(hashlib.sha256(body).hexdigest(), spec.content_type, body)


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageRequestError("IMAGE_TOO_LARGE", f"the source image is too large to resize: {width}x{height} "
                                f"pixels, more than {max_pixels:,}")


def _resize(image: Image.Image, spec: VariantSpec) -> Image.Image:
    """Scaled to the asked width (never up); with a height, contained in or covering the box."""
    if spec.height is None:
        width = min(spec.width, image.width)
        height = max(1, round(image.height * width / image.width))
        return image.resize((width, height), Image.Resampling.LANCZOS)
    box = (spec.width, spec.height)
    if spec.fit == "cover":
        return ImageOps.fit(image, box, Image.Resampling.LANCZOS)
    return ImageOps.contain(image, box, Image.Resampling.LANCZOS)
