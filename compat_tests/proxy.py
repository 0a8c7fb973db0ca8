"""A TCP proxy for tests that loses the broker's answer to chosen requests.

It sits between a client and a broker (which advertises the proxy's port, so that clients
keep coming through it) and forwards bytes both ways. When the client sends a request whose
API key is in ``drop_after`` and that request is the N-th such one, the proxy forwards the
request and then cuts the connection before the answer gets back: the broker has acted, the
client has not heard, and retries. That is the "lost acknowledgement" idempotence exists for.
"""

from __future__ import annotations

import socket
import struct
import threading


class LosingProxy:
    def __init__(self, target: tuple[str, int], api_key: int, lose: set[int]) -> None:
        self.target = target
        self.api_key = api_key
        self.lose = lose  # 1-based counts of matching requests whose answer is lost
        self.seen = 0
        self.lost = 0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.closed = True
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            muted = threading.Event()  # set: answers from the broker are no longer relayed
            threading.Thread(target=self._client_to_broker, args=(client, upstream, muted), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, muted), daemon=True).start()

    def _client_to_broker(self, client: socket.socket, upstream: socket.socket, muted: threading.Event) -> None:
        buffer = b""
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                buffer += data
                while len(buffer) >= 4:
                    size = struct.unpack(">i", buffer[:4])[0]
                    if len(buffer) < 4 + size:
                        break
                    frame, buffer = buffer[: 4 + size], buffer[4 + size :]
                    lose = False
                    if struct.unpack(">h", frame[4:6])[0] == self.api_key:
                        with self.lock:
                            self.seen += 1
                            lose = self.seen in self.lose
                            self.lost += lose
                    if lose:
                        muted.set()  # the broker acts on this request; its answer is lost
                    upstream.sendall(frame)
                    if lose:
                        threading.Event().wait(0.2)
                        raise ConnectionAbortedError
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                try:
                    s.close()
                except OSError:
                    pass

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, muted: threading.Event) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data or muted.is_set():
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass
