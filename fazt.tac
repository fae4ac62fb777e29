# twistd -ny fazt.tac: the same service as `twistd fazt`, configured from FAZT_* environment variables:
# FAZT_DOMAIN, FAZT_DB, FAZT_HTTP and FAZT_HTTPS (space-separated endpoint strings), FAZT_ENV.
import os
import shlex

from twisted.application.service import Application

from fazt.app.tap import Options, makeService

argv = []
for name, flag in (("FAZT_DOMAIN", "--domain"), ("FAZT_DB", "--db"), ("FAZT_ENV", "--env")):
    if os.environ.get(name):
        argv += [flag, os.environ[name]]
for name, flag in (("FAZT_HTTP", "--http"), ("FAZT_HTTPS", "--https")):
    for endpoint in shlex.split(os.environ.get(name, "")):
        argv += [flag, endpoint]

options = Options()
options.parseOptions(argv)
application = Application("fazt")
makeService(options).setServiceParent(application)
