"""Deploys are atomic on the real process (SPEC §6): readers never see a mix, and a SIGKILL at
any moment of a deploy leaves the old version or the new one, in a sound database."""

from __future__ import annotations

import os
import random
import re
import sqlite3
import threading
import time
import zipfile

import pytest

BLOG = "blog.example.test"
HAMMER_FILES = 300
ROUNDS = 6


def hammer_version(round_no: int) -> dict[str, bytes]:
    """Round k of the hammered site: every file says its version letter and round."""
    letter = "AB"[round_no % 2]
    names = ["index.html", "page2.html"] + [f"assets/p{i:03d}.html" for i in range(HAMMER_FILES - 2)]
    return {name: f"<p>{letter}{round_no}|{name}|</p>{letter * 3000}".encode() for name in names}


def round_of(body: bytes) -> int:
    match = re.match(rb"<p>([AB])(\d+)\|", body)
    assert match, body[:80]
    return int(match.group(2))


def test_readers_see_whole_versions_during_redeploys(twistd, cli_env, tmp_path, fz):
    db = str(tmp_path / "data.db")
    server = twistd.start(db)
    token = fz.create_token(cli_env, db)
    versions = [hammer_version(k) for k in range(ROUNDS)]
    archives = [fz.make_zip(v) for v in versions]
    known = {path: {v[name] for v in versions} for path, name in (("/", "index.html"), ("/page2.html", "page2.html"))}
    status, body = fz.upload_zip(server.port, token, "blog", archives[0])
    assert status == 200, body

    stop = threading.Event()
    problems: list[str] = []
    fetched = [0]

    def reader() -> None:
        newest = 0
        while not stop.is_set():
            for path in ("/", "/page2.html"):
                try:
                    code, page = server.get(path, BLOG)
                except OSError as exc:
                    problems.append(f"{path}: {exc!r}")
                    return
                fetched[0] += 1
                if code != 200 or page not in known[path]:
                    problems.append(f"{path}: {code} {page[:60]!r}")
                    return
                seen = round_of(page)
                if seen < newest:
                    problems.append(f"{path}: went back from round {newest} to {seen}")
                    return
                newest = seen

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for k in range(1, ROUNDS):
            started = time.monotonic()
            status, body = fz.upload_zip(server.port, token, "blog", archives[k])
            assert status == 200, body
            assert time.monotonic() - started < 15
            # Once the deploy is acknowledged, the new version is what everyone gets.
            assert server.get("/", BLOG) == (200, versions[k]["index.html"])
            assert server.get("/page2.html", BLOG) == (200, versions[k]["page2.html"])
            assert not problems, problems
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert not problems, problems
    assert fetched[0] > 20, "the readers hardly ran"
    for name in random.Random(1).sample(sorted(versions[-1]), 20):
        assert server.get("/" + name, BLOG) == (200, versions[-1][name])


# --- SIGKILL in the middle of a deploy ------------------------------------------------------

BIG_FILES = 2000
BIG_FILE_BYTES = 20 * 1024
SAMPLE = 40


def _paths() -> list[str]:
    return ["index.html"] + [f"data/f{i:04d}.bin" for i in range(BIG_FILES)]


@pytest.fixture(scope="session")
def kill_versions(fz):
    """(A, B, archive of B): A small, B ~40 MiB of random data, on the same paths."""
    small = {path: f"A|{path}".encode() for path in _paths()}
    big = {path: f"B|{path}|".encode() + os.urandom(BIG_FILE_BYTES) for path in _paths()}
    return small, big, fz.make_zip(big, zipfile.ZIP_STORED)


@pytest.fixture
def template_db(twistd, cli_env, tmp_path, fz, kill_versions):
    """A cleanly stopped cartridge serving version A, and an admin token for it."""
    small, _, _ = kill_versions
    db = str(tmp_path / "template.db")
    server = twistd.start(db)
    token = fz.create_token(cli_env, db)
    status, body = fz.upload_zip(server.port, token, "big", fz.make_zip(small))
    assert status == 200, body
    server.terminate()
    return db, token


def copy_db(source: str, target: str) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def wal_size(db: str) -> int:
    try:
        return os.path.getsize(db + "-wal")
    except FileNotFoundError:
        return 0


def served_version(server, small: dict, big: dict, seed: int) -> str:
    """'A' or 'B' if every sampled file is that version's, else fail."""
    sample = ["index.html", "data/f0000.bin", f"data/f{BIG_FILES - 1:04d}.bin"]
    sample += random.Random(seed).sample(_paths(), SAMPLE)
    letters = set()
    for path in sample:
        status, body = server.get("/" + path, "big.example.test", timeout=10)
        assert status == 200, (path, status, body[:200])
        if body == small[path]:
            letters.add("A")
        elif body == big[path]:
            letters.add("B")
        else:
            raise AssertionError(f"{path}: neither version: {body[:60]!r} ({len(body)} bytes)")
    assert len(letters) == 1, f"a mix of versions is served: {letters}"
    return letters.pop()


def kill_when(moment: str, server, sent: threading.Event, done: threading.Event, started: float) -> None:
    """Wait for C{moment} of B's deploy, then SIGKILL the server."""
    deadline = started + 20
    if moment.startswith("after "):
        time.sleep(max(0.0, started + float(moment.split()[1]) - time.monotonic()))
    elif moment.startswith("sent+"):
        assert sent.wait(20), "the upload never finished"
        time.sleep(float(moment[5:]))
    elif moment == "commit":
        # The single write transaction is filling the WAL with B's blobs, uncommitted.
        baseline = wal_size(server.db)
        while wal_size(server.db) < baseline + 8 * 1024 * 1024 and not done.is_set():
            assert time.monotonic() < deadline
            time.sleep(0.002)
    elif moment == "acknowledged":
        assert done.wait(20), "the deploy never answered"
    server.kill()


MOMENTS = ["after 0.02", "sent+0", "sent+0.15", "commit", "after 0.3", "acknowledged"]


def test_sigkill_mid_deploy_leaves_one_whole_version(twistd, tmp_path, fz, kill_versions, template_db):
    small, big, archive = kill_versions
    template, token = template_db
    outcomes = {}
    for n, moment in enumerate(MOMENTS):
        db = str(tmp_path / f"kill-{n}.db")
        copy_db(template, db)
        server = twistd.start(db)
        sent, done = threading.Event(), threading.Event()
        answer: list = []

        def upload() -> None:
            try:
                answer.append(fz.upload_zip(server.port, token, "big", archive, on_sent=sent.set))
            except Exception as exc:  # reset, refused or cut short by the kill
                answer.append(exc)
            finally:
                done.set()

        started = time.monotonic()
        uploader = threading.Thread(target=upload, daemon=True)
        uploader.start()
        kill_when(moment, server, sent, done, started)
        uploader.join(20)

        restarted = twistd.start(db)
        version = served_version(restarted, small, big, seed=n)
        outcomes[moment] = version
        if answer and isinstance(answer[0], tuple) and answer[0][0] == 200:
            assert version == "B", f"{moment}: an acknowledged deploy was lost"
        if moment == "commit" and version == "A":
            # What the killed transaction left behind does not get in the way of the next deploy.
            assert fz.upload_zip(restarted.port, token, "big", archive)[0] == 200
            assert served_version(restarted, small, big, seed=99) == "B"
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.close()
        restarted.kill()
        for path in (db, db + "-wal", db + "-shm"):
            if os.path.exists(path):
                os.remove(path)
    assert outcomes["acknowledged"] == "B", outcomes
    print("kill outcomes:", outcomes)
