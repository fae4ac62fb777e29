"""TEMPORARY stand-in for C{fazt.web.functionroutes} (helper "modules" writes the real one).

Delete this file when C{fazt/web/functionroutes.py} is merged; C{fazt.web.sitestate} imports the real
module first. Same interface: C{FunctionRoutes.from_paths(paths)}, C{.match(path)}, C{.is_function_path}.
"""

from __future__ import annotations

from typing import Iterable, Optional
from urllib.parse import unquote

_EXTENSIONS = (".js", ".mjs")


class FunctionRoutes:
    """Routes of a deployment's C{api/} files (SPEC §14), matched against a URL path."""

    def __init__(self, routes: list[tuple[tuple[str, ...], str]]) -> None:
        self._routes = routes

    @classmethod
    def from_paths(cls, paths: Iterable[str]) -> "FunctionRoutes":
        routes = []
        for path in paths:
            if not cls.is_function_path(path):
                continue
            stem = path[: path.rfind(".")]
            parts = tuple(stem.split("/")[1:])
            if parts and parts[-1] == "index":
                parts = parts[:-1]
            if parts == ("main",):
                parts = ("[...__main]",)
            routes.append((parts, path))
        return cls(routes)

    @staticmethod
    def is_function_path(path: str) -> bool:
        if not path.startswith("api/") or not path.endswith(_EXTENSIONS):
            return False
        return not any(part.startswith("_") for part in path.split("/")[1:])

    def match(self, path: str) -> Optional[tuple[str, dict]]:
        if path != "/api" and not path.startswith("/api/"):
            return None
        segments = [s for s in path[len("/api"):].split("/") if s]
        best = None
        for parts, file in self._routes:
            params = _match(parts, segments)
            if params is None:
                continue
            rank = tuple(_weight(p) for p in parts) + (3,)
            if best is None or rank < best[0]:
                best = (rank, file, params)
        return None if best is None else (best[1], best[2])


def _weight(part: str) -> int:
    if part.startswith("[..."):
        return 2 if part != "[...__main]" else 4
    return 1 if part.startswith("[") else 0


def _match(parts: tuple[str, ...], segments: list[str]) -> Optional[dict]:
    params: dict[str, str] = {}
    for i, part in enumerate(parts):
        if part.startswith("[...") and part.endswith("]"):
            rest = "/".join(unquote(s) for s in segments[i:])
            if part == "[...__main]":
                return params
            if not rest:
                return None
            params[part[4:-1]] = rest
            return params
        if i >= len(segments):
            return None
        segment = unquote(segments[i])
        if part.startswith("[") and part.endswith("]"):
            params[part[1:-1]] = segment
        elif part != segment:
            return None
    return params if len(parts) == len(segments) else None
