"""The smallest Starlette app answering GET /events/{id} with msgspec."""

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

EVENTS = {"1": {"id": "1", "title": "Introduction to Golang"}}


async def one(request: Request) -> Response:
    return Response(
        msgspec.json.encode(EVENTS.get(request.path_params["id"])), media_type="application/json"
    )


app = Starlette(routes=[Route("/events/{id}", one)])
