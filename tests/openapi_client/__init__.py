"""Clients generated from the served OpenAPI document, used as their users would."""
