"""The live stream, GET /changes/stream: refusals in process, the stream itself on real
servers (granian), and across PostgreSQL replicas."""
