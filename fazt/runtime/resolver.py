"""The resolution algorithm behind L{fazt.runtime.modules.resolve} (see that module for the rules).

One L{Resolver} per resolution: it returns a site path or None and leaves the reason for the error
message in C{reason}.
"""

import posixpath

from fazt.runtime import packages

EXTENSIONS = (".js", ".mjs", ".cjs", ".json")
INDEXES = tuple("index" + ext for ext in EXTENSIONS)
EMPTY_MODULE = "fazt:empty"  # what a "browser": {"x": false} entry resolves to: an empty module
IMPORT_CONDITIONS = frozenset({"worker", "browser", "import", "module", "default"})
REQUIRE_CONDITIONS = frozenset({"worker", "browser", "require", "default"})
NODE_BUILTINS = frozenset(
    "assert async_hooks buffer child_process cluster console constants crypto dgram diagnostics_channel dns "
    "domain events fs http http2 https inspector module net os path perf_hooks process punycode querystring "
    "readline repl stream string_decoder sys timers tls trace_events tty url util v8 vm wasi worker_threads "
    "zlib".split()
)


def package_scope(path, paths, read_json):
    """(folder, parsed package.json) of the nearest package.json above C{path}, or ("", {})."""
    folder = posixpath.dirname(path)
    while True:
        candidate = posixpath.join(folder, "package.json")
        if candidate in paths:
            data = read_json(candidate)
            if isinstance(data, dict):
                return folder, data
        if not folder:
            return "", {}
        folder = posixpath.dirname(folder)


class Resolver:
    """One resolution; C{reason} explains a failure for the error message."""

    def __init__(self, importer, specifier, paths, read_json, kind):
        self.importer, self.specifier, self.paths, self.read_json = importer, specifier, paths, read_json
        self.conditions = REQUIRE_CONDITIONS if kind == "require" else IMPORT_CONDITIONS
        self.fallback = IMPORT_CONDITIONS if kind == "require" else REQUIRE_CONDITIONS
        self.kind = kind
        self.reason = ""
        self.hops = 0

    def run(self):
        spec = self.specifier
        if not spec:
            self.reason = "empty specifier"
            return None
        if spec.startswith(("./", "../", "/")) or spec in (".", ".."):
            base = "" if spec.startswith("/") else posixpath.dirname(self.importer)
            joined = posixpath.normpath(posixpath.join("/", base, spec.lstrip("/") or "."))
            if spec.startswith("/") or not _escapes(base, spec):
                return self.file_or_folder(joined.lstrip("/"))
            self.reason = "it points outside the site"
            return None
        if spec.startswith("#"):
            return self.package_imports()
        if spec.startswith("node:"):
            self.reason = "Node.js built-in modules are not available in fazt"
            return None
        if ":" in spec.split("/")[0]:
            self.reason = "only the site's own files and its node_modules can be imported"
            return None
        return self.bare(spec)

    def file_or_folder(self, path):
        if path in ("", "."):
            path = ""
        for candidate in (path, *(path + ext for ext in EXTENSIONS)) if path else ():
            if candidate in self.paths:
                return candidate
        return self.folder(path)

    def folder(self, folder, main_fields=("main",)):
        data = self.read_json(posixpath.join(folder, "package.json")) if posixpath.join(
            folder, "package.json") in self.paths else None
        if isinstance(data, dict):
            for field in main_fields:
                main = data.get(field)
                if isinstance(main, str) and main and main not in (".", "./"):
                    found = self.file_or_folder(packages.join(folder, main))
                    if found is not None:
                        return found
        for index in INDEXES:
            candidate = posixpath.join(folder, index)
            if candidate in self.paths:
                return candidate
        self.reason = self.reason or "no such file"
        return None

    def bare(self, spec):
        parts = spec.split("/")
        count = 2 if spec.startswith("@") else 1
        name, subpath = "/".join(parts[:count]), "/".join(parts[count:])
        if len(parts) < count or not all(parts[:count]) or name.startswith((".", "_")):
            self.reason = "not a valid package name"
            return None
        scope_folder, scope = package_scope(self.importer, self.paths, self.read_json)
        replaced = packages.browser_replacement(scope, scope_folder, name=spec)
        if replaced is False:
            return EMPTY_MODULE
        if replaced:
            kind, target = replaced
            if kind == "file":
                return self.file_or_folder(target)
            if target != spec and self.hops < 4:  # a map may chain names, never for ever
                inner = Resolver(self.importer, target, self.paths, self.read_json, self.kind)
                inner.hops = self.hops + 1
                found = inner.run()
                self.reason = inner.reason
                return found
        if scope.get("name") == name and "exports" in scope:
            return self.package(scope_folder, scope, subpath)
        folder = posixpath.dirname(self.importer)
        while True:
            if posixpath.basename(folder) != "node_modules":
                package_folder = posixpath.join(folder, "node_modules", name)
                manifest = posixpath.join(package_folder, "package.json")
                if manifest in self.paths:
                    data = self.read_json(manifest)
                    return self.package(package_folder, data if isinstance(data, dict) else {}, subpath)
                # No package.json (hand-made folders): Node probes the path as a file or folder.
                found = self.file_or_folder(posixpath.join(package_folder, subpath) if subpath else package_folder)
                if found is not None:
                    return found
            if not folder:
                break
            folder = posixpath.dirname(folder)
        self.reason = ("a Node.js built-in module, not available in fazt" if name in NODE_BUILTINS
                       else "no package of that name in node_modules/")
        return None

    def browser_file(self, path):
        """C{path}, or what its package's "browser" map replaces it with."""
        folder, data = package_scope(path, self.paths, self.read_json)
        replaced = packages.browser_replacement(data, folder, path=path)
        if replaced is False:
            return EMPTY_MODULE
        if replaced and replaced[0] == "file":
            found = self.file_or_folder(replaced[1])
            if found is None:
                self.reason = f"its \"browser\" replacement '{replaced[1]}' is missing"
            return found
        return path

    def package(self, folder, data, subpath):
        if "exports" in data and data["exports"] is not None:
            key = "./" + subpath if subpath else "."
            try:
                target = self.with_fallback(packages.exports_target, data["exports"], key, folder)
            except packages.PackageError as error:
                self.reason = f"package '{data.get('name', folder)}': {error}"
                return None
            path = packages.join(folder, target)
            if path in self.paths:
                return path
            self.reason = f"package '{data.get('name', folder)}' exports '{key}' as '{target}', which is missing"
            return None
        if subpath:
            return self.file_or_folder(posixpath.join(folder, subpath))
        fields = ("browser", "main", "module") if self.kind == "require" else ("module", "browser", "main")
        return self.folder(folder, fields)

    def with_fallback(self, lookup, value, key, folder):
        def exists(target):
            return not target.startswith("./") or packages.join(folder, target) in self.paths
        try:
            return lookup(value, key, self.conditions, exists)
        except packages.PackageError:
            try:
                return lookup(value, key, self.fallback, exists)
            except packages.PackageError:
                pass
            raise

    def package_imports(self):
        folder, data = package_scope(self.importer, self.paths, self.read_json)
        try:
            target = self.with_fallback(packages.imports_target, data.get("imports"), self.specifier, folder)
        except packages.PackageError as error:
            self.reason = f"the nearest package.json: {error}"
            return None
        if target.startswith("./"):
            path = packages.join(folder, target)
            if path in self.paths:
                return path
            self.reason = f"'{self.specifier}' maps to '{target}', which is missing"
            return None
        inner = Resolver(posixpath.join(folder, "package.json"), target, self.paths, self.read_json, self.kind)
        found = inner.bare(target)
        self.reason = inner.reason
        return found


def _escapes(base, spec):
    """Whether C{spec} relative to the folder C{base} climbs above the site root."""
    depth = len([part for part in base.split("/") if part])
    for part in spec.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False
