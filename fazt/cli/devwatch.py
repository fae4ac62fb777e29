"""A polling watcher for C{fazt dev}: a cheap stat walk of the folder on the reactor's clock.

Why polling and not inotify: C{twisted.internet.inotify} exists on Linux only (macOS and the
BSDs are where many developers run C{fazt dev}); it watches one folder per watch, so folders
created later (a new C{api/users/}) need watches added in time, and editors that save by
rename-and-replace make the watched inodes vanish. A stat walk of a site-sized folder costs a
few milliseconds and sees every kind of change the same way.

A change is reported once the folder has stopped changing for one more tick (the debounce), so
an editor's save in several steps or C{npm install} writing hundreds of files gives one deploy.
"""

from __future__ import annotations

import os
from typing import Callable, Optional

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

Snapshot = dict[str, tuple[int, int, int]]
# Never walked: the dev server's own scratch folder and version control.
SKIPPED = frozenset({".fazt", ".git", ".hg", ".svn", "__pycache__"})
_log = Logger()


def snapshot(root: str) -> Snapshot:
    """C{{relative path: (size, mtime_ns, inode)}} of every file under C{root}.

    C{node_modules/} is not walked file by file (thousands of files: a walk took ~200 ms for
    5,000 on a busy machine): its own entry and those of the packages (and of C{@scope/}
    folders) change when C{npm install} adds, removes or replaces one, and that is enough.
    """
    found: Snapshot = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [name for name in dirs if name not in SKIPPED]
        if "node_modules" in dirs:
            dirs.remove("node_modules")
            _packages(os.path.join(folder, "node_modules"), root, found)
        for name in files:
            _stat(os.path.join(folder, name), root, found)
    return found


def _packages(modules: str, root: str, found: Snapshot) -> None:
    """The entries of C{modules} (a node_modules folder) and of its C{@scope} folders."""
    _stat(modules, root, found)
    try:
        names = os.listdir(modules)
    except OSError:
        return
    for name in names:
        path = os.path.join(modules, name)
        _stat(path, root, found)
        if name.startswith("@"):
            try:
                scoped = os.listdir(path)
            except OSError:
                continue
            for package in scoped:
                _stat(os.path.join(path, package), root, found)


def _stat(path: str, root: str, found: Snapshot) -> None:
    try:
        info = os.stat(path)
    except OSError:  # removed while we walked: the next tick sees it gone
        return
    found[os.path.relpath(path, root)] = (info.st_size, info.st_mtime_ns, info.st_ino)


class FolderWatcher:
    """Calls C{on_change(paths)} (the changed, added and removed relative paths) when C{root}
    changed and then stayed the same for one tick. C{start()} takes the first snapshot.

    C{off_reactor(function, *args)} runs the walk and fires with its result: the dev server passes
    C{deferToThread}, so that a folder with a large C{node_modules/} never stalls a request; the
    default runs it at once (tests drive the watcher with a L{Clock}). A tick starts only after
    the previous walk ended (L{LoopingCall} waits for the Deferred).
    """

    def __init__(self, root: str, on_change: Callable[[list[str]], None], clock: IReactorTime,
                 interval: float = 0.25,
                 off_reactor: Callable[..., Deferred] = lambda function, *args: succeed(function(*args))) -> None:
        self.root = root
        self._on_change = on_change
        self._interval = interval
        self._off_reactor = off_reactor
        self._known: Snapshot = {}
        self._pending: Optional[Snapshot] = None
        self._stopped = False
        self._loop = LoopingCall(self.tick)
        self._loop.clock = clock

    def start(self) -> Deferred:
        """Take the first snapshot, then poll every C{interval} seconds."""
        def begin(first: Snapshot) -> None:
            self._known = first
            if not self._stopped:
                self._loop.start(self._interval, now=False)
        return self._off_reactor(snapshot, self.root).addCallback(begin)

    def stop(self) -> None:
        self._stopped = True
        if self._loop.running:
            self._loop.stop()

    def tick(self) -> Deferred:
        """One poll: remember a change, report it once the folder is quiet again."""
        walk = self._off_reactor(snapshot, self.root).addCallback(self._compare)
        # A failed walk must not end the polling (LoopingCall stops on an error): log it, go on.
        return walk.addErrback(lambda failure: _log.failure("fazt dev: watching {root} failed", failure,
                                                            root=self.root))

    def _compare(self, current: Snapshot) -> None:
        if self._pending is not None and current == self._pending:
            changed = sorted(set(current.items()) ^ set(self._known.items()))
            self._known, self._pending = current, None
            paths = sorted({path for path, _ in changed})
            if paths:
                self._on_change(paths)
            return
        self._pending = current if current != self._known else None
