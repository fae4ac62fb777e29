"""The WebSocket options of C{twistd fazt} that shape each message (SPEC §8): its cap, its compression.

Declared here and spliced into L{fazt.app.options.Options}, as L{fazt.web.options} does for HTTP.
"""

from __future__ import annotations

from fazt.base.converters import number, switch

KIB = 1024
# SPEC §8: 64 KiB. The top keeps what Autobahn may buffer per connection (twice the cap, see
# fazt.ws.protocol.receive_bound) within reason for thousands of connections.
MAX_MESSAGE_KB = 64
LARGEST_MESSAGE_KB = 16 * 1024

WS_PARAMETERS = [
    ["ws-max-message-kb", None, MAX_MESSAGE_KB,
     "Largest WebSocket message, in KiB, inflated and reassembled (bigger: close 1009).",
     number("ws-max-message-kb", int, "a whole number", 1, LARGEST_MESSAGE_KB, f"between 1 and {LARGEST_MESSAGE_KB}")],
    ["ws-deflate", None, True, "Offer permessage-deflate on /ws: on or off.", switch("ws-deflate")],
]
