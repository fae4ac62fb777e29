"""
Pack a site directory into a temporary zip archive for C{fazt deploy}.

Every file or directory whose name starts with C{.} is skipped (C{.git},
C{.env}, C{.DS_Store}, C{fazt dev}'s scratch folder C{.fazt/}, ...), as the
original fazt client does. Entry names
are paths relative to the directory, separated by C{/}, compressed with
deflate. Symbolic links to files are followed; links to directories are not,
so a link loop cannot make the archive endless. Only regular files are
packed.
"""

import os
import tempfile
import zipfile
from dataclasses import dataclass
from typing import Iterator, Tuple

from fazt.base.mimetypes import content_type_for, is_compressible
from fazt.cli.errors import CliError


class ZipDirectoryError(CliError):
    """The directory is missing, empty, or one of its files cannot be read."""


@dataclass(frozen=True)
class ZippedDirectory:
    """
    A zip archive written to a temporary file.

    The caller owns C{path} and must remove it when done (see L{discard}).

    @ivar path: where the archive was written.
    @ivar file_count: how many files the archive holds.
    @ivar unpacked_size: the total size of those files, in bytes.
    @ivar archive_size: the size of the archive itself, in bytes.
    """

    path: str
    file_count: int
    unpacked_size: int
    archive_size: int

    def discard(self) -> None:
        """Remove the temporary archive; a missing file is not an error."""
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass


def is_hidden(name: str) -> bool:
    """Return whether a file or directory called C{name} is left out."""
    return name.startswith(".")


def files_to_pack(directory: str) -> Iterator[Tuple[str, str]]:
    """
    Yield C{(filesystem path, archive name)} for every file of C{directory}
    that belongs in the archive, in a stable (sorted) order.
    """
    for current, subdirectories, file_names in os.walk(directory):
        subdirectories[:] = sorted(name for name in subdirectories if not is_hidden(name))
        for name in sorted(file_names):
            if is_hidden(name):
                continue
            full_path = os.path.join(current, name)
            if not os.path.isfile(full_path):
                continue
            relative = os.path.relpath(full_path, directory)
            yield full_path, relative.replace(os.sep, "/")


def zip_directory(directory: str) -> ZippedDirectory:
    """
    Zip C{directory} into a new temporary file and describe the result.

    @raise ZipDirectoryError: if C{directory} does not exist, is not a
        directory, holds no file to deploy, or a file cannot be read. No
        temporary file is left behind in that case.
    """
    if not os.path.exists(directory):
        raise ZipDirectoryError(f"directory not found: {directory}")
    if not os.path.isdir(directory):
        raise ZipDirectoryError(f"not a directory: {directory}")

    descriptor, archive_path = tempfile.mkstemp(prefix="fazt-deploy-", suffix=".zip")
    try:
        with os.fdopen(descriptor, "wb") as archive_file:
            file_count, unpacked_size = _write_archive(archive_file, directory)
        if file_count == 0:
            raise ZipDirectoryError(
                f"nothing to deploy: {directory} holds no files "
                "(names starting with '.' are skipped)"
            )
        return ZippedDirectory(
            path=archive_path,
            file_count=file_count,
            unpacked_size=unpacked_size,
            archive_size=os.path.getsize(archive_path),
        )
    except BaseException:
        os.remove(archive_path)
        raise


def _write_archive(archive_file, directory: str) -> Tuple[int, int]:
    """
    Write the packable files of C{directory} as a zip to C{archive_file};
    return the file count and their total size.
    """
    file_count = 0
    unpacked_size = 0
    with zipfile.ZipFile(
        archive_file, "w", compression=zipfile.ZIP_DEFLATED, strict_timestamps=False
    ) as archive:
        for full_path, archive_name in files_to_pack(directory):
            # Images, fonts and archives are compressed already: deflating them again costs
            # most of a deploy's time and saves almost nothing.
            method = (zipfile.ZIP_DEFLATED if is_compressible(content_type_for(archive_name))
                      else zipfile.ZIP_STORED)
            try:
                archive.write(full_path, archive_name, compress_type=method)
            except OSError as error:
                raise ZipDirectoryError(
                    f"cannot read {full_path}: {error.strerror or error}"
                ) from error
            file_count += 1
            unpacked_size += archive.getinfo(archive_name).file_size
    return file_count, unpacked_size
