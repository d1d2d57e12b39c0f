"""Pure domain logic: no I/O, no web framework."""
