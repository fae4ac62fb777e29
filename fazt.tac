# twistd -ny fazt.tac: the same service as `twistd fazt`, configured from FAZT_* environment variables.
# Every option has one: --domain is FAZT_DOMAIN, --backup-every is FAZT_BACKUP_EVERY, a flag such as
# --no-acme is set by FAZT_NO_ACME=1; FAZT_HTTP, FAZT_HTTPS and FAZT_TRUSTED_PROXY take
# space-separated lists. See fazt/app/envconfig.py.
import os

from twisted.application.service import Application

from fazt.app.envconfig import options_from_environment
from fazt.app.tap import makeService

application = Application("fazt")
makeService(options_from_environment(os.environ)).setServiceParent(application)
