"""Deploy-time validation of an upload's code (SPEC §14): refused before anything is switched.

An upload with a root C{main.js} or function modules under C{api/} is handed to the JS pool's
C{check} as a L{CodeBundle} read from the prepared archive (on the deploy thread pool, never on the
reactor): every entry must compile and every import must resolve, without running any of the code.
"""

from __future__ import annotations

from typing import Any, Callable, Collection

from twisted.internet.defer import Deferred, inlineCallbacks, succeed

from fazt.base.errors import ApiError
from fazt.runtime.code import CheckResult, CodeBundle

ROOT_SCRIPT = "main.js"
FUNCTION_EXTENSIONS = (".js", ".mjs")


def is_function_file(path: str) -> bool:
    """A route file under C{api/}: C{.js}/C{.mjs}, no C{_}-prefixed part (shared code), no packages."""
    if not path.startswith("api/") or not path.endswith(FUNCTION_EXTENSIONS):
        return False
    return not any(part.startswith("_") or part == "node_modules" for part in path.split("/")[1:])


def code_entries(paths: Collection[str]) -> list[str]:
    """What a check compiles: the root C{main.js} (a script entry), then the function modules."""
    entries = sorted(path for path in paths if is_function_file(path))
    if ROOT_SCRIPT in paths:
        entries.insert(0, ROOT_SCRIPT)
    return entries


def invalid_script(result: CheckResult) -> ApiError:
    """400 C{INVALID_SCRIPT}; the message reads as a compiler's (C{main.js:3: SyntaxError: ...}).

    A check that could not finish (the pool names no file) says so in its message.
    """
    message = result.message or "the code does not compile"
    where = result.file
    if where is not None and result.line is not None:
        where += f":{result.line}"
    return ApiError(400, "INVALID_SCRIPT", f"{where}: {message}" if where else message,
                    {"file": result.file, "line": result.line, "message": message})


class CodeChecker:
    """Asks the JS pool (C{check(site, code, entries)}) whether an upload's code compiles.

    C{read_later(function, *args)} runs a blocking read off the reactor and fires with its result
    (the deployer passes its thread pool).
    """

    def __init__(self, pool: Any, read_later: Callable[..., Deferred]) -> None:
        self._pool = pool
        self._read_later = read_later
        self._checks = 0

    @inlineCallbacks
    def check(self, site: str, paths: Collection[str], read_text: Callable[[str], Any]):
        """Fires with None when the code is fine (or there is none); raises L{ApiError} otherwise."""
        entries = code_entries(paths)
        if not entries:
            return None
        self._checks += 1
        known = frozenset(paths)

        def source(path: str) -> Deferred:
            if path not in known:
                return succeed(None)
            return self._read_later(read_text, path)

        bundle = CodeBundle(f"check:{self._checks}", known, source)
        result = yield self._pool.check(site, bundle, entries)
        if not result.ok:
            raise invalid_script(result)
        return None
