"""The polling watcher of `fazt dev`: a change is reported once, after the folder stayed the same for
one more tick (so a save in several steps is one deploy); the scratch folder and .git are never
watched. Time is a Clock; the files are real."""

from __future__ import annotations

import os

from twisted.internet.task import Clock

from fazt.cli.devwatch import FolderWatcher, snapshot


def ticks(clock, count: int) -> None:
    """C{count} ticks of the watcher (one advance fires a LoopingCall once, however long)."""
    for _ in range(count):
        clock.advance(1)


def watcher(folder):
    seen: list[list[str]] = []
    clock = Clock()
    watch = FolderWatcher(str(folder), seen.append, clock, interval=1.0)
    watch.start()
    return watch, clock, seen


def test_a_change_is_reported_once_the_folder_is_quiet(tmp_path):
    (tmp_path / "index.html").write_text("one")
    watch, clock, seen = watcher(tmp_path)
    clock.advance(1)
    assert seen == []
    (tmp_path / "index.html").write_text("two, longer")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "hello.js").write_text("x")
    clock.advance(1)          # the change is seen ...
    assert seen == []
    (tmp_path / "style.css").write_text("more of the same save")
    clock.advance(1)          # ... still changing: wait
    assert seen == []
    clock.advance(1)          # quiet for a tick: one report with every path
    assert seen == [[os.path.join("api", "hello.js"), "index.html", "style.css"]]
    ticks(clock, 5)
    assert len(seen) == 1
    os.remove(tmp_path / "style.css")
    ticks(clock, 2)
    assert seen[-1] == ["style.css"] and len(seen) == 2
    watch.stop()
    assert clock.getDelayedCalls() == []


def test_a_change_undone_before_it_settles_is_not_reported(tmp_path):
    (tmp_path / "a.txt").write_text("same")
    before = os.stat(tmp_path / "a.txt").st_mtime_ns
    watch, clock, seen = watcher(tmp_path)
    (tmp_path / "b.txt").write_text("temporary")
    clock.advance(1)
    os.remove(tmp_path / "b.txt")
    os.utime(tmp_path / "a.txt", ns=(before, before))
    ticks(clock, 3)
    assert seen == []
    watch.stop()


def test_the_scratch_folder_and_version_control_are_not_walked(tmp_path):
    for name in (".fazt/dev.db", ".git/HEAD", "node_modules/x/index.js", "node_modules/@s/y/a.js", ".env"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    # node_modules/ down to its packages only (npm install replaces or adds package folders).
    assert sorted(snapshot(str(tmp_path))) == [".env", "node_modules", os.path.join("node_modules", "@s"),
                                               os.path.join("node_modules", "@s", "y"),
                                               os.path.join("node_modules", "x")]


def test_npm_install_of_another_package_is_a_change(tmp_path):
    (tmp_path / "node_modules" / "a").mkdir(parents=True)
    watch, clock, seen = watcher(tmp_path)
    (tmp_path / "node_modules" / "b").mkdir()
    (tmp_path / "node_modules" / "b" / "index.js").write_text("x")
    ticks(clock, 2)
    assert seen == [["node_modules", os.path.join("node_modules", "b")]]
    watch.stop()


def test_a_failed_walk_is_logged_and_polling_goes_on(tmp_path):
    from twisted.internet.defer import fail, succeed
    from twisted.logger import LogLevel, globalLogPublisher

    failures = iter([True])  # the second walk fails, every other one works
    calls = []

    def off_reactor(function, *args):
        calls.append(function)
        if len(calls) == 2 and next(failures, False):
            return fail(OSError("the disk went away"))
        return succeed(function(*args))

    logged = []
    observer = lambda event: logged.append(event) if event.get("log_level") == LogLevel.critical else None
    globalLogPublisher.addObserver(observer)
    try:
        seen: list[list[str]] = []
        clock = Clock()
        watch = FolderWatcher(str(tmp_path), seen.append, clock, interval=1.0, off_reactor=off_reactor)
        watch.start()
        ticks(clock, 1)     # the failing walk
        (tmp_path / "later.html").write_text("x")
        ticks(clock, 2)
        assert seen == [["later.html"]]
        assert [event["log_format"] for event in logged] == ["fazt dev: watching {root} failed"]
        watch.stop()
    finally:
        globalLogPublisher.removeObserver(observer)
