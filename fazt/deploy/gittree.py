"""A fetched commit's files (or one folder of them) as a zip the deploy pipeline checks (blocking).

Regular files and executables become entries; symbolic links and submodules are left out (a
deployment holds files only, and a link could point anywhere). The deploy limits on the number of
entries and on the unpacked total apply while the zip is written, so a huge tree stops early.
"""

from __future__ import annotations

import posixpath
import stat
import zipfile
from typing import BinaryIO, Iterator

from dulwich.objects import Tree
from dulwich.repo import Repo

from fazt.base.errors import ApiError, payload_too_large, validation_failed
from fazt.deploy.archive import Limits

GITLINK = 0o160000


def clean_dir(value) -> str:
    """A subfolder as given to C{--dir} / C{"dir"}: relative, no C{..}; C{""} means the top."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 1024 or "\\" in value or "\x00" in value:
        raise validation_failed("dir", "dir must be a relative folder path")
    parts = [part for part in value.strip().strip("/").split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise validation_failed("dir", "dir must not contain '..'")
    return "/".join(parts)


def _folder(repo: Repo, commit: bytes, subdir: str) -> Tree:
    tree = repo.object_store[repo.object_store[commit].tree]
    if not subdir:
        return tree
    try:
        mode, sha = tree.lookup_path(repo.object_store.__getitem__, subdir.encode("utf-8"))
    except KeyError:
        mode, sha = 0, None
    if sha is None or not stat.S_ISDIR(mode):
        raise ApiError(404, "GIT_DIR_NOT_FOUND", f"the commit has no folder {subdir!r}", {"field": "dir"})
    return repo.object_store[sha]


def _files(repo: Repo, tree: Tree, prefix: str) -> Iterator[tuple[str, bytes]]:
    """(path, blob id) of every regular file under C{tree}, depth first."""
    for entry in tree.iteritems():
        name = entry.path.decode("utf-8", "surrogateescape")
        path = posixpath.join(prefix, name) if prefix else name
        if entry.mode == GITLINK or stat.S_ISLNK(entry.mode):
            continue
        if stat.S_ISDIR(entry.mode):
            yield from _files(repo, repo.object_store[entry.sha], path)
        else:
            yield path, entry.sha


def write_zip(repo: Repo, commit: bytes, subdir: str, out: BinaryIO, limits: Limits) -> int:
    """Write the files of C{commit} (under C{subdir}, made the top) as a zip to C{out}; its length."""
    total = count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path, sha in _files(repo, _folder(repo, commit, subdir), ""):
            count += 1
            if count > limits.max_entries:
                raise payload_too_large(f"the commit has more than {limits.max_entries} files")
            data = repo.object_store[sha].data
            total += len(data)
            if total > limits.max_total_bytes:
                raise payload_too_large(f"the commit's files exceed {limits.max_total_bytes} bytes")
            try:
                path.encode("utf-8")
            except UnicodeEncodeError:
                raise ApiError(400, "INVALID_ZIP", "the commit has a file name that is not UTF-8") from None
            archive.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)
    if count == 0:
        raise ApiError(400, "INVALID_ZIP", "the commit has no files to deploy" + (f" under {subdir!r}" if subdir else ""))
    length = out.tell()
    out.seek(0)
    return length
