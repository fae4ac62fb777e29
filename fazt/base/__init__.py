"""The ground floor: pieces every layer may use, importing nothing else of fazt.

Names (site names and hosts), the API error type, option converters, the service that owns
a thread pool, and the event bus. See docs/ARCHITECTURE.md for the layers above.
"""
