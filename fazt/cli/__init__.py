"""The C{fazt} command-line program: operator commands and the API client."""
