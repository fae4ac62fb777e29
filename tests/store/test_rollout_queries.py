"""Previews, splits and image variants in the store (synchronous SQL, SPEC §15)."""

from __future__ import annotations

import hashlib

import pytest

from fazt.store.db import open_cartridge
from fazt.store.errors import NotFound
from fazt.store.migrate import connect
from fazt.store.rollout import clear_split, get_split, set_split
from fazt.store.sites import (BlobContent, NewFile, activate, commit_deployment, get_active_deployment,
                              list_deployments, load_manifest)
from fazt.store.variants import Variant, count_variants, get_variant, put_variant


@pytest.fixture
def conn(tmp_path):
    db = str(tmp_path / "data.db")
    open_cartridge(db)
    connection = connect(db)
    yield connection
    connection.close()


def deploy(conn, site, contents, keep=20, switch=True):
    new = [NewFile(path, hashlib.sha256(data).hexdigest(), len(data), "text/plain",
                   lambda data=data: BlobContent(data, None, None)) for path, data in contents.items()]
    conn.execute("BEGIN IMMEDIATE")
    try:
        deployment, _ = commit_deployment(conn, site, new, "test", 1000.0, keep, switch)
    except Exception:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return deployment


def test_a_preview_is_stored_without_switching_and_needs_an_existing_site(conn):
    live = deploy(conn, "blog", {"index.html": b"v1"})
    preview = deploy(conn, "blog", {"index.html": b"v2"}, switch=False)
    assert get_active_deployment(conn, "blog") == live
    assert [d.id for d in list_deployments(conn, "blog")] == [preview.id, live.id]
    with pytest.raises(NotFound):
        deploy(conn, "ghost", {"index.html": b"x"}, switch=False)
    assert list_deployments(conn, "ghost") == []


def test_a_split_names_only_the_sites_deployments_is_never_pruned_and_ends_with_a_switch(conn):
    first = deploy(conn, "blog", {"index.html": b"v1"}, keep=2)
    second = deploy(conn, "blog", {"index.html": b"v2"}, keep=2)
    other = deploy(conn, "other", {"index.html": b"o"})
    with pytest.raises(NotFound):
        set_split(conn, "blog", [(first.id, 1), (other.id, 1)])
    assert get_split(conn, "blog") is None
    set_split(conn, "blog", [(first.id, 90), (second.id, 10)])
    assert get_split(conn, "blog") == ((first.id, 90), (second.id, 10))
    third = deploy(conn, "blog", {"index.html": b"v3"}, keep=2, switch=False)
    fourth = deploy(conn, "blog", {"index.html": b"v4"}, keep=2, switch=False)
    # keep=2 would leave the two newest; the split's members stay as well.
    assert {d.id for d in list_deployments(conn, "blog")} == {first.id, second.id, fourth.id}
    assert third.id not in {d.id for d in list_deployments(conn, "blog")}
    assert load_manifest(conn, first.id)
    activate(conn, "blog", fourth.id, 2000.0)
    assert get_split(conn, "blog") is None
    assert clear_split(conn, "blog") is False


def test_a_variant_is_stored_once_and_goes_with_its_source(conn):
    source = deploy(conn, "pics", {"a.png": b"png bytes"}, keep=1)
    source_hash = load_manifest(conn, source.id)["a.png"].blob_hash
    variant = Variant("f" * 64, "image/webp", b"webp bytes")
    assert put_variant(conn, source_hash, "w=320", variant, 1.0) is True
    assert put_variant(conn, source_hash, "w=320", Variant("e" * 64, "image/webp", b"other"), 2.0) is False
    assert get_variant(conn, source_hash, "w=320") == variant
    assert put_variant(conn, "0" * 64, "w=320", variant, 1.0) is False   # no such source blob
    assert count_variants(conn) == 1
    deploy(conn, "pics", {"b.png": b"other bytes"}, keep=1)
    assert count_variants(conn) == 0
