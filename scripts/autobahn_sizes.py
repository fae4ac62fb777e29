# Python 2.7, run in autobahn.sh's virtualenv: the largest message, in bytes, that each compression
# case (groups 12 and 13) sends, written as JSON {"12.4.9": 65541, ...} to the path given.
#
# Those cases send LEN *characters* of a text file per message, so a non-ASCII text (Goethe's Faust)
# makes messages longer than LEN bytes; this replays the suite's own slicing (sendOne in
# autobahntestsuite/case/case12_x_x.py) over its own data files to know each case's real sizes.
import json
import sys

import pkg_resources
from autobahntestsuite.case import Cases


def largest_message(case):
    data = open(pkg_resources.resource_filename("autobahntestsuite", "testdata/" + case.TESTDATA["file"]), "rb").read()
    if not case.TESTDATA["binary"]:
        data = data.decode("utf-8")
    largest, start = 0, 0
    for _ in range(case.COUNT):
        end = (start + case.LEN) % len(data)
        message = data[start:end] if end > start else data[start:] + data[:end]
        size = len(message) if case.TESTDATA["binary"] else len(message.encode("utf-8"))
        largest, start = max(largest, size), end
    return largest


sizes = {}
for case in Cases:
    if hasattr(case, "TESTDATA") and hasattr(case, "LEN"):
        sizes[".".join(case.__name__[len("Case"):].split("_"))] = largest_message(case)
with open(sys.argv[1], "w") as out:
    json.dump(sizes, out, sort_keys=True)
