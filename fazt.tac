# twistd -ny fazt.tac: the same service as `twistd fazt`, configured from FAZT_* environment variables:
# FAZT_DOMAIN, FAZT_DB, FAZT_HTTP and FAZT_HTTPS (space-separated endpoint strings), FAZT_ENV,
# FAZT_ACME_DIRECTORY, FAZT_ACME_EMAIL, FAZT_ACME_CA_BUNDLE and FAZT_NO_ACME (any value).
import os
import shlex

from twisted.application.service import Application

from fazt.app.tap import Options, makeService

argv = []
for name, flag in (("FAZT_DOMAIN", "--domain"), ("FAZT_DB", "--db"), ("FAZT_ENV", "--env"),
                   ("FAZT_ACME_DIRECTORY", "--acme-directory"), ("FAZT_ACME_EMAIL", "--acme-email"),
                   ("FAZT_ACME_CA_BUNDLE", "--acme-ca-bundle")):
    if os.environ.get(name):
        argv += [flag, os.environ[name]]
if os.environ.get("FAZT_NO_ACME"):
    argv.append("--no-acme")
for name, flag in (("FAZT_HTTP", "--http"), ("FAZT_HTTPS", "--https")):
    for endpoint in shlex.split(os.environ.get(name, "")):
        argv += [flag, endpoint]

options = Options()
options.parseOptions(argv)
application = Application("fazt")
makeService(options).setServiceParent(application)
