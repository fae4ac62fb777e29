"""A site's script as the sandbox runs it, and what comes back as a protocol outcome.

The author's C{main.js} is wrapped into an async function run once per request in a fresh scope:
a sloppy-mode script registering it (L{compile_wrapper}, fazt style, as part one ran it), or, when
it has static imports, an ES module exporting it (L{module_wrapper}). Stacks are relabelled for the
author (L{clean_stack}). Pure text work: nothing here touches an interpreter.
"""

import re

_DEFAULT_EXPORT = re.compile(r"^([ \t]*)export\s+default\b\s*", re.MULTILINE)


def prepare_source(source):
    """Return ``(body, handler_style)``: ``source`` ready to go inside the per-request wrapper.

    The first line-leading ``export default`` becomes an assignment to the wrapper's
    ``__fazt_default`` parameter, which the wrapper returns; a leading ``#!`` line is blanked.
    """
    if source.startswith("#!"):
        source = "//" + source[2:]
    body, count = _DEFAULT_EXPORT.subn(r"\1__fazt_default = ", source, count=1)
    return body, count == 1


_WRAPPER_HEAD = "__fazt.registerScript(async function (__fazt_default) {"
_MODULE_HEAD = "export default (async function (__fazt_default) {"


def compile_wrapper(source, check=False):
    """The fazt-style root main.js as a script registering an async function run once per request.

    Evaluated as a script (sloppy mode, as part one always ran it), once per interpreter. User
    line N stays line N in stack traces: the wrapper's head shares line 1 (``clean_stack`` takes
    its length off line-1 columns). ``check`` makes it throw before registering anything.
    """
    body, _ = prepare_source(source)
    prefix = "throw __faztCheckPassed;" if check else ""
    return f"{prefix}{_WRAPPER_HEAD}{body}\n;return __fazt_default; }});\nnull"


def module_wrapper(hoisted, body):
    """A root main.js with static imports: an ES module whose default export is the per-request function.

    ``hoisted`` (the import declarations) and the wrapper's head share line 1, so lines stay.
    """
    body, _ = prepare_source(body)
    return f"{hoisted} {_MODULE_HEAD}{body}\n;return __fazt_default; }});\n"


_USER_LINE_ONE = re.compile(r"main\.js:1:(\d+)")


def clean_stack(stack):
    """Relabel a QuickJS stack for the site's author: user frames say main.js, internals go."""
    if not stack:
        return None
    lines = []
    for line in stack.splitlines():
        if "(fazt:" in line or "at fazt:" in line or line.lstrip().startswith("at <eval> (<dukpy>"):
            continue
        line = line.replace("<dukpy>", "main.js").replace("__fazt_default", "default")
        lines.append(_USER_LINE_ONE.sub(lambda m: f"main.js:1:{max(int(m[1]) - len(_WRAPPER_HEAD), 1)}", line))
    return "\n".join(lines) or None
