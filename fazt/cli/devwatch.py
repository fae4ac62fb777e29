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

from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall

Snapshot = dict[str, tuple[int, int, int]]
# Never walked: the dev server's own scratch folder and version control.
SKIPPED = frozenset({".fazt", ".git", ".hg", ".svn", "__pycache__"})


def snapshot(root: str) -> Snapshot:
    """C{{relative path: (size, mtime_ns, inode)}} of every file under C{root}."""
    found: Snapshot = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [name for name in dirs if name not in SKIPPED]
        for name in files:
            path = os.path.join(folder, name)
            try:
                info = os.stat(path)
            except OSError:  # removed while we walked: the next tick sees it gone
                continue
            found[os.path.relpath(path, root)] = (info.st_size, info.st_mtime_ns, info.st_ino)
    return found


class FolderWatcher:
    """Calls C{on_change(paths)} (the changed, added and removed relative paths) when C{root}
    changed and then stayed the same for one tick. C{start()} takes the first snapshot."""

    def __init__(self, root: str, on_change: Callable[[list[str]], None], clock: IReactorTime,
                 interval: float = 0.25) -> None:
        self.root = root
        self._on_change = on_change
        self._interval = interval
        self._known: Snapshot = {}
        self._pending: Optional[Snapshot] = None
        self._loop = LoopingCall(self.tick)
        self._loop.clock = clock

    def start(self) -> None:
        self._known = snapshot(self.root)
        self._loop.start(self._interval, now=False)

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()

    def tick(self) -> None:
        """One poll: remember a change, report it once the folder is quiet again."""
        current = snapshot(self.root)
        if self._pending is not None and current == self._pending:
            changed = sorted(set(current.items()) ^ set(self._known.items()))
            self._known, self._pending = current, None
            paths = sorted({path for path, _ in changed})
            if paths:
                self._on_change(paths)
            return
        self._pending = current if current != self._known else None
