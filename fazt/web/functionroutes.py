"""A deployment's function routes (SPEC §14): files under ``api/`` → URL paths.

``api/hello.js`` → ``/api/hello``; ``api/index.js`` → ``/api``; ``api/users/[id].js`` →
``/api/users/42`` with ``{"id": "42"}``; ``api/files/[...path].js`` → one or more deeper segments, with
``{"path": "a/b.png"}``. At each segment a static name beats a ``[param]``, which beats a
``[...rest]``; when a more specific branch leads nowhere the next one is tried. ``api/main.js`` serves
``/api`` and every ``/api/*`` path no other file claims. Files and folders whose name starts with ``_``
(shared code) and anything under a ``node_modules`` folder are never routes; ``.js`` and ``.mjs``
only. When two files claim the same route (``hello.js``, ``hello.mjs``, ``hello/index.js``), the
first of those, in that order, wins.

Pure: built once per deployment from its file list, then matched per request.
"""

import re
from urllib.parse import unquote

_PARAM = re.compile(r"^\[([A-Za-z_$][\w$-]*)\]$")
_REST = re.compile(r"^\[\.\.\.([A-Za-z_$][\w$-]*)\]$")
_EXTENSIONS = (".js", ".mjs")
CATCH_ALL = "api/main.js"


class _Node:
    __slots__ = ("static", "param", "rest", "file")

    def __init__(self):
        self.static = {}
        self.param = None   # the _Node below a [param] segment
        self.rest = None    # (file, param names) of a [...rest] file here
        self.file = None    # (file, param names) of the route ending here


class FunctionRoutes:
    """The route table of one deployment (build with L{from_paths})."""

    def __init__(self, root, files, catch_all):
        self._root, self._catch_all = root, catch_all
        self.files = files  # every function module (route files and api/main.js), sorted

    @classmethod
    def from_paths(cls, paths):
        """The routes of a deployment whose files are C{paths} (site-relative, no leading slash)."""
        root, chosen = _Node(), {}
        candidates = sorted((_rank(path), path) for path in paths if _is_route_file(path))
        catch_all = CATCH_ALL if CATCH_ALL in paths else None
        for _, path in candidates:
            if path == catch_all:
                continue
            segments = _segments(path)
            if segments is None:
                continue
            key = tuple(_kind(segment) for segment in segments)
            if key in chosen:
                continue
            chosen[key] = path
            _insert(root, segments, path)
        files = sorted(set(chosen.values()) | ({catch_all} if catch_all else set()))
        return cls(root, tuple(files), catch_all)

    def match(self, path):
        """C{(file, params)} for the URL path C{path} (raw, as in the request line, no query), or None.

        Each segment is percent-decoded (a ``%2F`` stays inside its segment); one trailing slash
        is ignored.
        """
        if path != "/api" and not path.startswith("/api/"):
            return None
        rest = path[len("/api"):]
        if rest.endswith("/"):
            rest = rest[:-1]
        raw = rest[1:].split("/") if rest else []
        segments = [unquote(segment, errors="replace") for segment in raw]
        found = _match(self._root, segments) if all(segments) else None
        if found is not None:
            file, names, values = found
            return file, dict(zip(names, values))
        return (self._catch_all, {}) if self._catch_all else None

    def is_function_path(self, path):
        """Whether the URL path C{path} belongs to the functions (so it is never a static file).

        True for ``/api`` and everything under ``/api/`` once the deployment has any function
        module: such a path is answered by a function or by a 404, never by a file or SPA fallback.
        """
        return bool(self.files) and (path == "/api" or path.startswith("/api/"))

    def is_route_file(self, file_path):
        """Whether the deployment file C{file_path} ("api/users/[id].js") is a function module."""
        return file_path in self.files


def _is_route_file(path):
    if not path.startswith("api/") or not path.endswith(_EXTENSIONS):
        return False
    return not any(part.startswith("_") or part == "node_modules" or not part for part in path.split("/")[1:])


def _rank(path):
    """Order among files claiming one route: x.js, x.mjs, x/index.js, x/index.mjs."""
    base = path.rsplit("/", 1)[-1]
    return (base.startswith("index."), not path.endswith(".js"), path)


def _segments(path):
    """URL segments of a route file (after ``api/``), or None when the name is not a valid route."""
    parts = path[len("api/"):].rsplit(".", 1)[0].split("/")
    if parts[-1] == "index":
        parts.pop()
    for position, part in enumerate(parts):
        if _REST.match(part) and position != len(parts) - 1:
            return None  # a [...rest] must be the last segment
    return parts


def _kind(segment):
    if _REST.match(segment):
        return ("rest",)
    if _PARAM.match(segment):
        return ("param",)
    return ("static", segment)


def _insert(node, segments, path):
    names = []
    for segment in segments:
        rest, param = _REST.match(segment), _PARAM.match(segment)
        if rest:
            node.rest = (path, (*names, rest.group(1)))
            return
        if param:
            names.append(param.group(1))
            node.param = node.param or _Node()
            node = node.param
        else:
            node = node.static.setdefault(segment, _Node())
    node.file = (path, tuple(names))


def _match(node, segments, values=()):
    """(file, param names, values) of the best route for C{segments} below C{node}, or None."""
    if not segments:
        return (*node.file, values) if node.file else None
    head, tail = segments[0], segments[1:]
    for child, taken in ((node.static.get(head), values), (node.param, (*values, head))):
        if child is not None:
            found = _match(child, tail, taken)
            if found is not None:
                return found
    if node.rest is not None:
        return (*node.rest, (*values, "/".join(segments)))
    return None
