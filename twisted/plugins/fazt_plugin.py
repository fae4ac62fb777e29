# Kept import-light: an import error here shows only as "Unknown command: fazt".
from twisted.application.service import ServiceMaker

fazt = ServiceMaker(
    "fazt",
    "fazt.app.tap",
    "A personal PaaS: static sites, deploys and apps from one SQLite file.",
    "fazt",
)
