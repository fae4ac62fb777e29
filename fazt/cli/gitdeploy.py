"""C{fazt deploy --git URL[#REF] [--dir SUBDIR] --site NAME [--link]}: deploy from a Git repository.

The CLI asks the server to do it (C{POST /api/sites/NAME/git}) rather than cloning here and
uploading a zip: the server is what fetches again on every signed push of a linked site, so one
fetch path (behind the public-address guard, with its limits) serves both; the deployment records
the URL, ref and commit the server itself saw; and the client needs no network access to the Git
host. The price: the repository must be reachable from the server, i.e. public (a private or
local repository is deployed with C{fazt deploy DIR} from a checkout).
"""

from __future__ import annotations

import argparse
from urllib.parse import quote

from fazt.cli.client import ApiClient
from fazt.cli.errors import CliError
from fazt.cli.settings import resolve_settings

# Fetching and checking a repository may take longer than an ordinary API call.
GIT_TIMEOUT = 300.0


def add_git_options(deploy: argparse.ArgumentParser) -> None:
    """Give C{fazt deploy} its C{--git}, C{--dir} and C{--link}; DIR becomes optional with C{--git}."""
    deploy.add_argument("--git", metavar="URL[#REF]",
                        help="deploy from a public Git repository over http(s) instead of DIR "
                             "(REF: a branch, tag or full ref; default the remote's HEAD)")
    deploy.add_argument("--dir", metavar="SUBDIR", help="with --git: deploy this folder of the repository")
    deploy.add_argument("--link", action="store_true",
                        help="with --git: redeploy on signed pushes to that branch; prints the webhook URL and secret")
    plain = deploy.get_default("run")
    deploy.set_defaults(run=lambda args: deploy_git(args) if args.git else _plain(plain, args))


def _plain(run, args: argparse.Namespace) -> int:
    if args.dir is not None or args.link:
        raise CliError("--dir and --link go with --git URL")
    if not args.directory:
        raise CliError("give the directory to deploy, or --git URL")
    return run(args)


def split_url(text: str) -> tuple[str, str]:
    """C{URL#REF} as (URL, REF); REF is "" when not given."""
    url, _, ref = text.strip().partition("#")
    if not url:
        raise CliError("--git needs a repository URL, such as https://github.com/owner/repo.git#main")
    return url, ref


def deploy_git(args: argparse.Namespace) -> int:
    """Ask the server to deploy the repository; print the deployment (and the link's webhook)."""
    if args.directory:
        raise CliError("give either DIR or --git URL, not both")
    url, ref = split_url(args.git)
    settings = resolve_settings(args.server, args.token)
    client = ApiClient(settings.server, settings.require_token(), timeout=GIT_TIMEOUT)
    payload = {"url": url, "ref": ref or None, "dir": args.dir, "link": bool(args.link)}
    data = client.post_json(f"/api/sites/{quote(args.site, safe='')}/git", payload).get("data") or {}
    print(data.get("message") or f"Deployed {args.site}")
    print(f"deployment id: {data.get('deployment_id', '-')}")
    print(f"source:        {data.get('source_url', url)} {data.get('source_ref', '')}")
    print(f"commit:        {data.get('source_commit', '-')}")
    print(f"files:         {data.get('file_count', '-')}")
    if args.link:
        print(f"linked to:     {data.get('linked_ref', '-')}")
        print(f"webhook URL:   {data.get('webhook_url', '-')}")
        print("webhook secret (shown only this once; use it as the webhook's secret, content type application/json):")
        print(data.get("webhook_secret", "-"))
    return 0
