"""The only package that touches sockets: listeners, the per-connection loop, dispatch of
each request to its handler, and the graceful drain on shutdown."""
