"""eventsapi: a durable, fast events REST API."""

__version__ = "0.1.0"
