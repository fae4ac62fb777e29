"""package.json ``exports`` and ``imports`` maps (and ``browser`` replacements), resolved as Node and
the bundlers do.

Pure functions over already-parsed JSON. A map's conditions are tried in the map's OWN key order
and the first key that is in the active set wins: that is Node's rule, and esbuild's and wrangler's
(the tools that build Workers bundles), so a package resolves here to the file it resolves to on
Cloudflare. The active sets are in L{fazt.runtime.modules} (``worker``, ``browser``, ``import``,
``module``, ``default`` for ``import``; ``require`` instead of ``import``/``module`` for ``require()``).
"""

import posixpath


class PackageError(Exception):
    """The map exists but gives no usable target for the subpath (the message says why)."""


def exports_target(exports, subpath, conditions, exists=None):
    """Resolve C{subpath} ("." or "./x") through a package's C{exports} value.

    Returns the target, a path relative to the package folder starting with "./", or raises
    L{PackageError}. C{exists(target)} lets a fallback array skip targets that are not installed.
    """
    if isinstance(exports, (str, list)) or (isinstance(exports, dict) and not _has_subpath_keys(exports)):
        exports = {".": exports}
    if not isinstance(exports, dict):
        raise PackageError('its "exports" field is not a string, an array or an object')
    if any(not key.startswith(".") for key in exports):
        raise PackageError('its "exports" field mixes subpaths and conditions')
    return _map_target(exports, subpath, conditions, "exports", True, exists)


def imports_target(imports, specifier, conditions, exists=None):
    """Resolve a C{#name} specifier through a package's C{imports} map (a "./" path or a bare name)."""
    if not isinstance(imports, dict):
        raise PackageError('it has no "imports" field')
    return _map_target(imports, specifier, conditions, "imports", False, exists)


def _has_subpath_keys(mapping):
    return any(key.startswith(".") for key in mapping)


def _map_target(mapping, key, conditions, field, relative_only, exists):
    options = (conditions, relative_only, exists or (lambda target: True))
    if key in mapping and "*" not in key:
        found = _target(mapping[key], None, *options)
    else:
        match = _best_pattern(mapping, key)
        if match is None:
            raise PackageError(f'its "{field}" field has no entry for "{key}"')
        pattern, star = match
        found = _target(mapping[pattern], star, *options)
    if found is None:
        active = ", ".join(sorted(conditions))
        raise PackageError(f'its "{field}" entry for "{key}" has no target for the conditions {active}')
    return found


def _best_pattern(mapping, key):
    """Node's PATTERN_KEY_COMPARE: the matching "a*b" key with the longest prefix, then the longest key."""
    best = None
    for pattern in mapping:
        if pattern.count("*") != 1:
            continue
        prefix, suffix = pattern.split("*")
        if key.startswith(prefix) and key.endswith(suffix) and len(key) >= len(pattern) - 1 and key != prefix:
            rank = (len(prefix), len(pattern))
            if best is None or rank > best[0]:
                best = (rank, pattern, key[len(prefix):len(key) - len(suffix)])
    return None if best is None else best[1:]


def _target(value, star, conditions, relative_only, exists, in_array=False):
    """A target string, a fallback array or a conditions object → one target string, or None."""
    if isinstance(value, str):
        found = _checked(value, star, relative_only)
        return None if in_array and found is not None and not exists(found) else found
    if isinstance(value, list):
        for item in value:
            found = _target(item, star, conditions, relative_only, exists, True)
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        for condition, inner in value.items():
            if condition in conditions:
                found = _target(inner, star, conditions, relative_only, exists, in_array)
                if found is not None:
                    return found
        return None
    return None  # null: explicitly not exported


def _checked(target, star, relative_only):
    if star is not None:
        if "/../" in f"/{star}/" or "/./" in f"/{star}/":
            return None
        target = target.replace("*", star)
    if not target.startswith("./"):
        if relative_only or target.startswith(("/", "../")) or ":" in target.split("/")[0]:
            return None
        return target  # imports map to a bare package name
    segments = target[2:].split("/")
    if any(segment in ("..", ".", "node_modules") for segment in segments):
        return None
    return target


def browser_replacement(data, folder, path=None, name=None):
    """What a package.json "browser" object map (bundlers' file replacements) says about a file.

    Give C{path}, a site path inside the package at C{folder}, or C{name}, a bare module name the
    package imports. Returns None (no entry), False (replaced by an empty module), or the
    replacement: C{("file", site path)} for "./x" values, C{("bare", name)} otherwise.
    """
    mapping = data.get("browser")
    if not isinstance(mapping, dict):
        return None
    if name is not None:
        candidates = (name,)
    else:
        relative = path[len(folder) + 1:] if folder else path
        stem = posixpath.splitext(relative)[0]
        candidates = (f"./{relative}", relative, f"./{stem}", stem)
    for key in candidates:
        if key in mapping:
            value = mapping[key]
            if value is False:
                return False
            if isinstance(value, str) and value:
                return ("file", join(folder, value)) if value.startswith(".") else ("bare", value)
            return None
    return None


def join(folder, relative):
    """C{folder}/C{relative} normalized, with no leading slash ("" is the site root)."""
    return posixpath.normpath(posixpath.join(folder, relative)).lstrip("/")
