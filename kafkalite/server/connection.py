"""One client connection: read size-prefixed frames, handle them in order, answer in order.

A connection's trouble stays with it: an undecodable frame, an unknown API or a reset socket
end this connection (logged with the reason) and never reach another one. Its authentication
state is a `Session` (kafkalite.server.session): on a SASL listener it admits only the SASL
exchange until the client has authenticated.

Limits (Kafka's names): a frame declaring more than ``socket.request.max.bytes`` closes the
connection from its 4-byte size, before any of its body is buffered (`FrameBuffer`). A
connection on which nothing arrives, or whose response cannot be sent, for
``connections.max.idle.ms`` is closed; that is real time, not the broker clock, because it
frees the process's sockets, and a test that advances the broker clock by hours must not see
its clients cut off. Requests are handled one at a time and the next is not read before the
response of the previous one was handed to the socket, as Kafka mutes a channel while its
request is in flight: a client that pipelines requests without reading its answers makes the
send wait, and the broker stops reading it, so the bytes held for it stay at most the socket
buffers, one response and one read of ``RECEIVE_SIZE`` (besides a partial frame, which
socket.request.max.bytes bounds). A slow reader, or a client that sends half a frame and
stalls, holds nothing but its own connection's task.
"""

from __future__ import annotations

import logging

import trio

from kafkalite.broker.state import Broker
from kafkalite.server.dispatch import UnsupportedRequest, dispatch
from kafkalite.server.faults import CloseConnection, DropRequest
from kafkalite.server.session import Session, SessionClosed
from kafkalite.server.throttle import Mute, wait_out
from kafkalite.wire.headers import FrameBuffer, FrameTooLarge, read_request_header_prefix
from kafkalite.wire.primitives import DecodeError

log = logging.getLogger("kafkalite.connection")

RECEIVE_SIZE = 256 * 1024
#: How long a connection closed after its answer waits for the client to close it first.
CLOSE_LINGER_S = 0.5


def _peer_name(stream: trio.abc.Stream) -> str:
    socket = getattr(stream, "socket", None)
    if socket is None:
        return "memory"
    try:
        host, port, *_ = socket.getpeername()
    except OSError:
        return "unknown"
    return f"{host}:{port}"


async def _discard_until_closed(stream: trio.abc.Stream) -> None:
    """Read and drop everything until the peer closes: a dropped request is never answered,
    so no later answer may go out either (clients match answers to requests in order)."""
    try:
        while await stream.receive_some(RECEIVE_SIZE):
            pass
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


def _plaintext_session(broker: Broker, node_id: int, peer: str) -> Session:
    from kafkalite.broker.listeners import Listener
    from kafkalite.broker.credentials import CredentialStore
    from kafkalite.server.session import Security

    security = Security((), {}, CredentialStore(), broker.clock)  # a connection of a test
    return Session(security, Listener("PLAINTEXT", "PLAINTEXT", "", 0), node_id, peer)


async def handle_connection(
    broker: Broker, stream: trio.abc.Stream, node_id: int, session: Session | None = None
) -> None:
    """Serve requests from *stream* until the peer closes it or sends something undecodable.

    Requests are handled one at a time, so responses leave in request order. The stream is
    closed on return. Without a *session* the connection is a PLAINTEXT one.
    """
    peer = _peer_name(stream)
    if session is None:
        session = _plaintext_session(broker, node_id, peer)
    frames = FrameBuffer(broker.config.max_request_bytes)
    metrics = broker.metrics  # bytes in and out, open connections
    idle_s = broker.config.connections_max_idle_ms / 1000
    metrics.connection_opened()
    log.debug("connection from %s on node %d", peer, node_id)
    mute = Mute()  # client quotas: how long this connection is muted after an answer
    try:
        while True:
            with trio.move_on_after(idle_s) as waiting:  # real time (see the module docstring)
                data = await stream.receive_some(RECEIVE_SIZE)
            if waiting.cancelled_caught:
                log.info("closing connection from %s: nothing received for %d ms (connections.max.idle.ms)%s",
                         peer, broker.config.connections_max_idle_ms,
                         f", {frames.buffered()} bytes of a request pending" if frames.buffered() else "")
                return
            if not data:
                log.debug("connection from %s closed by the peer", peer)
                return
            metrics.bytes_received += len(data)
            frames.feed(data)
            while (frame := frames.next_frame()) is not None:
                if session.raw_tokens:  # after a v0 SaslHandshake: a raw SASL token
                    answer = session.raw_token(bytes(frame))
                    response = bytearray(len(answer).to_bytes(4, "big") + answer)
                else:
                    session.admit(read_request_header_prefix(frame)[0])
                    response = await dispatch(broker, frame, node_id, peer, session, mute)
                    if mute.throttle_ms and not mute.answer_first:  # an old client: the answer waits
                        await wait_out(broker.clock, mute)
                if response is not None:
                    metrics.bytes_sent += len(response)
                    with trio.move_on_after(idle_s) as sending:
                        await stream.send_all(response)
                    if sending.cancelled_caught:
                        log.info("closing connection from %s: a response of %d bytes not taken for %d ms "
                                 "(connections.max.idle.ms)", peer, len(response), broker.config.connections_max_idle_ms)
                        return
                if session.close_after_response:
                    raise SessionClosed(session.close_after_response)
                if mute.throttle_ms:  # muted: nothing more is read until the throttle ends
                    await wait_out(broker.clock, mute)
    except CloseConnection as exc:
        log.info("closing connection from %s: %s", peer, exc)
    except SessionClosed as exc:
        log.info("closing connection from %s on %s: %s", peer, session.listener.name, exc)
        # The answer (SASL_AUTHENTICATION_FAILED ...) is on its way: let the client read it and
        # close first. Closing at once, with bytes of the client's unread, makes the kernel
        # reset the connection, and the client may then see only the reset, not the answer.
        with trio.move_on_after(CLOSE_LINGER_S):
            await _discard_until_closed(stream)
    except DropRequest as exc:
        log.info("connection from %s: %s; discarding what it sends until it closes", peer, exc)
        await _discard_until_closed(stream)
    except FrameTooLarge as exc:
        log.warning("closing connection from %s: %s", peer, exc)
    except UnsupportedRequest as exc:
        log.warning("closing connection from %s: %s", peer, exc)
    except DecodeError as exc:
        log.warning("closing connection from %s: undecodable request: %s", peer, exc)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        log.debug("connection from %s reset", peer)
    except Exception:  # a bug (a response that cannot be encoded...): this connection only
        log.exception("closing connection from %s: internal error", peer)
    finally:
        metrics.connection_closed()
        with trio.CancelScope(shield=True):
            await stream.aclose()
