# Moved to fazt.base.converters; its importers (app/options.py, web/options.py) follow in the next step.
from fazt.base.converters import seconds, whole_number  # noqa: F401
