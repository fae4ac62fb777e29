"""Check mode: compile a deployment's entries and their import graph without running any of it.

A fresh interpreter (no runtime JS: nothing runs) with a check-mode loader: every module source gets
``throw __faztCheckPassed;`` prepended on its first line (L{fazt.runtime.loader}). QuickJS parses
and links the whole graph first, so a syntax error ("SyntaxError: ...\\n    at api/x.js:3:1") or a
missing import ("cannot find module: ...", which the loader's ``normalize`` recorded with its
importer) is reported before evaluation; otherwise the first module evaluated throws the sentinel
(an undefined name): the graph is fine and none of the site's code ran.
"""

import json
import re

from fazt.runtime import scripts
from fazt.runtime.loader import INTERNAL, SCRIPT_ENTRY, ModuleLoader
from fazt.runtime.modules import EMPTY_MODULE, required_specifiers
from fazt.runtime.sandbox import RUNTIME_SOURCES, CpuLimitExceeded, JSRuntimeError, SandboxedInterpreter
from fazt.runtime.wrappers import InvalidModule, esm_from_json

_PASSED = "ReferenceError: __faztCheckPassed is not defined"
_NOT_FOUND = "ReferenceError: cannot find module: "
_CJS_WHERE = re.compile(r" \([^()]*:(\d+)\)$")
_PASSED_VERDICT = {"ok": True, "file": None, "line": None, "message": ""}
_AT = re.compile(r"^\s*at (?:.*\()?(.+?):(\d+)(?::\d+)?\)?\s*$")


def run_check(message, calls, guard):
    """The ``checked`` frame answering a ``check`` frame (``calls.sync_call`` reads the bundle)."""
    check_id = message["id"]
    calls.checking(check_id)
    loader = ModuleLoader(lambda fn, args: calls.sync_call(None, fn, args), check=True)
    verdict = _PASSED_VERDICT
    try:
        guard.arm(message["cpu_ms"])
        try:
            interpreter = SandboxedInterpreter(loader)
            for entry in message["entries"]:
                verdict = _check_entry(interpreter, loader, entry)
                if not verdict["ok"]:
                    break
            else:
                verdict = _check_commonjs(interpreter, loader)
        finally:
            guard.disarm()
    except CpuLimitExceeded:
        verdict = {"ok": False, "file": None, "line": None, "message": "the check used more CPU time than allowed"}
    except MemoryError:
        verdict = {"ok": False, "file": None, "line": None, "message": "out of memory while checking"}
    finally:
        calls.checking(None)
    return {"t": "checked", "id": check_id, **verdict}


def _check_entry(interpreter, loader, entry):
    try:
        if entry == SCRIPT_ENTRY and not loader.script_has_imports():
            source = loader.source(SCRIPT_ENTRY)
            if source is None:
                return _failed(entry, None, f"cannot find module {entry!r}")
            interpreter.evaljs(scripts.compile_wrapper(source, check=True))
        else:
            interpreter._evaljs(f"import {json.dumps(entry)};", True, f"{INTERNAL}check", {})
    except JSRuntimeError as exc:
        return _verdict(str(exc), loader, entry)
    return _PASSED_VERDICT


def _check_commonjs(interpreter, loader):
    """Compile (never run) the CommonJS files of the graph: their ES wrappers hold them as text.

    Files reached only through ``require("...")`` of a string literal are followed too, resolved as
    the runtime's ``require()`` resolves them (a JSON file is parsed). A specifier that does not resolve
    is left to run time (an optional package in try/catch is common), as is every ``require(expr)``.
    """
    cjs = dict(RUNTIME_SOURCES).get("fazt:cjs")
    if cjs is None or not loader.commonjs:
        return _PASSED_VERDICT
    interpreter.evaluate_module(cjs, "fazt:cjs")
    queue, seen = list(loader.commonjs), set(loader.commonjs)
    while queue:
        path = queue.pop(0)
        source = loader.source(path)
        try:
            interpreter.evaljs("__fazt_cjs.compile(dukpy.path, dukpy.source)", path=path, source=source)
        except JSRuntimeError as exc:
            first = str(exc).partition("\n")[0]
            where = _CJS_WHERE.search(first)
            return _failed(path, int(where[1]) if where else None, _CJS_WHERE.sub("", first))
        for specifier in required_specifiers(source or ""):
            found = loader.require(path, specifier)
            if "error" in found or found["path"] in seen:
                continue
            seen.add(found["path"])
            if found["format"] == "cjs":
                queue.append(found["path"])
            elif found["format"] == "json" and found["path"] != EMPTY_MODULE:
                try:
                    esm_from_json(found["source"])
                except InvalidModule as exc:
                    return _failed(found["path"], exc.line, str(exc))
    return _PASSED_VERDICT


def _verdict(text, loader, entry):
    first, _, rest = text.partition("\n")
    if first.startswith(_PASSED):
        return _PASSED_VERDICT
    if first.startswith(_NOT_FOUND):
        module_id = first[len(_NOT_FOUND):]
        if module_id in loader.invalid:
            message, line = loader.invalid[module_id]
            return _failed(module_id, line, message)
        if module_id in loader.missing:
            importer, specifier, message = loader.missing[module_id]
            return _failed(importer, _line_of(loader.source(importer), specifier), message)
        return _failed(module_id, None, f"cannot find module {module_id!r}")
    for line in rest.splitlines():
        match = _AT.match(line)
        if match and not match[1].startswith(INTERNAL):
            file = SCRIPT_ENTRY if match[1] == "<dukpy>" else match[1]
            return _failed(file, int(match[2]), first)
    return _failed(entry, None, first)


def _failed(file, line, message):
    return {"ok": False, "file": file, "line": line, "message": message}


def _line_of(source, specifier):
    """The line of ``source`` where ``specifier`` appears quoted (None if not found)."""
    if not source:
        return None
    for quote in ("'", '"', "`"):
        index = source.find(f"{quote}{specifier}{quote}")
        if index >= 0:
            return source.count("\n", 0, index) + 1
    return None
