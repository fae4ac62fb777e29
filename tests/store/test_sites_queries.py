"""Deployments, manifests and blobs: atomic switches, dedup, pruning (synchronous SQL)."""

from __future__ import annotations

import hashlib

import pytest

from fazt.store.sites import (
    BlobContent,
    NewFile,
    commit_deployment,
    get_active_deployment,
    list_deployments,
    load_blob,
    load_manifest,
)


def files(contents: dict[str, bytes], loads: list | None = None) -> list[NewFile]:
    out = []
    for path, data in contents.items():
        def load(data=data, path=path):
            if loads is not None:
                loads.append(path)
            return BlobContent(data, None, None)
        out.append(NewFile(path, hashlib.sha256(data).hexdigest(), len(data), "text/plain", load))
    return out


def deploy(conn, site, contents, keep=20, now=1000.0, loads=None):
    conn.execute("BEGIN IMMEDIATE")
    result = commit_deployment(conn, site, files(contents, loads), "test", now, keep)
    conn.execute("COMMIT")
    return result


def blob_count(conn) -> int:
    return conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0]


def test_commit_switches_the_site_and_records_sizes(conn):
    first, new = deploy(conn, "blog", {"index.html": b"one", "a.txt": b"aaaa"})
    assert new == 2
    assert (first.file_count, first.size_bytes) == (2, 7)
    assert get_active_deployment(conn, "blog") == first
    manifest = load_manifest(conn, first.id)
    assert load_blob(conn, manifest["index.html"].blob_hash).data == b"one"


def test_identical_content_is_stored_once_and_not_loaded_again(conn):
    deploy(conn, "blog", {"index.html": b"same", "copy.html": b"same"})
    assert blob_count(conn) == 1
    loads = []
    _, new = deploy(conn, "other", {"x.html": b"same"}, loads=loads)
    assert (new, loads, blob_count(conn)) == (0, [], 1)


def test_failed_commit_leaves_the_old_deployment_active(conn):
    first, _ = deploy(conn, "blog", {"index.html": b"v1"})

    def explode():
        raise RuntimeError("disk on fire")

    broken = files({"index.html": b"v2"})
    broken.append(NewFile("late.html", "0" * 64, 1, "text/html", explode))
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(RuntimeError):
        commit_deployment(conn, "blog", broken, "test", 2000.0, 20)
    conn.execute("ROLLBACK")
    assert get_active_deployment(conn, "blog") == first
    assert [d.id for d in list_deployments(conn, "blog")] == [first.id]


def test_pruning_keeps_the_newest_and_collects_unused_blobs(conn):
    deploy(conn, "blog", {"index.html": b"v1", "shared.css": b"css"}, keep=2)
    deploy(conn, "blog", {"index.html": b"v2", "shared.css": b"css"}, keep=2)
    third, _ = deploy(conn, "blog", {"index.html": b"v3", "shared.css": b"css"}, keep=2)
    assert len(list_deployments(conn, "blog")) == 2
    stored = {bytes(r[0]) for r in conn.execute("SELECT data FROM blobs")}
    assert stored == {b"v2", b"v3", b"css"}
    assert get_active_deployment(conn, "blog") == third
