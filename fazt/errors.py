# Moved to fazt.base.errors; its importers in web/ follow in the next step.
from fazt.base.errors import ApiError, missing_field, payload_too_large, validation_failed  # noqa: F401
