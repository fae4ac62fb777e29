# Moved to fazt.base.names; its importers in web/ and app/options.py follow in the next step.
from fazt.base.names import ADMIN, SITE_NAME, InvalidSiteName, normalise_site_name, route_host, split_host  # noqa: F401
