# Moved to fazt.base.threads; its importers in web/api/ and app/tap.py follow in the next step.
from fazt.base.threads import ThreadPoolService  # noqa: F401
