"""HTTP only: the route table, request and response bodies, and the problem documents."""
