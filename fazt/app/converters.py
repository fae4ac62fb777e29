# Moved to fazt.base.converters; its importer app/options.py follows in the next step.
from fazt.base.converters import whole_number  # noqa: F401
