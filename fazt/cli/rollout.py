"""
C{fazt promote NAME ID} and C{fazt split NAME ID=W ID2=W2 | --off}: which deployments a site serves
(SPEC §15). Previews are made with C{fazt deploy DIR --site NAME --preview}.
"""

import argparse
import json
import re

from fazt.cli.commands import _client, _data_object, _path_segment
from fazt.cli.errors import CliError

_WEIGHT = re.compile(r"^([0-9]{1,18})=([0-9]{1,5})$")


def add_rollout_commands(subcommands, client_command) -> None:
    """Add C{fazt promote} and C{fazt split}; C{client_command} adds C{--server}/C{--token}."""
    promote = client_command(subcommands, "promote", "switch a site to one of its deployments (e.g. a preview)")
    promote.add_argument("site", metavar="NAME", help="the site's name")
    promote.add_argument("deployment", type=int, metavar="ID", help="the deployment to serve (see 'fazt deployments')")
    promote.set_defaults(run=promote_deployment)

    split = client_command(subcommands, "split", "serve several deployments of a site by weight, sticky per visitor")
    split.add_argument("site", metavar="NAME", help="the site's name")
    split.add_argument("weights", nargs="*", metavar="ID=WEIGHT",
                       help="two to five deployments with their weights, e.g. 12=90 13=10")
    split.add_argument("--off", action="store_true", help="end the split: the active deployment serves everyone")
    split.set_defaults(run=split_traffic)


def promote_deployment(args: argparse.Namespace) -> int:
    """C{fazt promote NAME ID}: the same atomic switch as a rollback, to any deployment of the site."""
    envelope = _client(args).post_json(f"/api/sites/{_path_segment(args.site)}/promote",
                                       {"deployment_id": args.deployment})
    result = _data_object(envelope)
    print(result.get("message") or f"Promoted deployment {args.deployment} of {args.site}")
    return 0


def parse_weights(texts: list) -> list:
    """C{["12=90", "13=10"]} as the API's weights; raises L{CliError} naming the bad one."""
    weights = []
    for text in texts:
        match = _WEIGHT.match(text)
        if match is None or int(match.group(2)) == 0:
            raise CliError(f"expected ID=WEIGHT with a weight from 1 to 10000, got {text!r}")
        weights.append({"deployment_id": int(match.group(1)), "weight": int(match.group(2))})
    return weights


def split_traffic(args: argparse.Namespace) -> int:
    """C{fazt split NAME ID=W ID2=W2} sets the split; C{fazt split NAME --off} ends it."""
    if args.off == bool(args.weights):
        raise CliError("give either two to five ID=WEIGHT pairs or --off")
    client = _client(args)
    path = f"/api/sites/{_path_segment(args.site)}/split"
    if args.off:
        envelope = client.envelope(client.request("DELETE", path))
    else:
        body = json.dumps({"weights": parse_weights(args.weights)}).encode("utf-8")
        envelope = client.envelope(client.request("PUT", path, body, {"Content-Type": "application/json"}))
    result = _data_object(envelope)
    print(result.get("message") or "Done")
    return 0
