"""A `SchemasTopic` in memory: real record batches, no broker."""

from __future__ import annotations

import uuid
from typing import Iterable, Sequence

from kafkalite.wire.batch import BatchHeader, parse_batch_header
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.records import build_batch


class MemoryTopic:
    def __init__(self) -> None:
        self.topic_id: uuid.UUID | None = None
        self.log: list[bytes] = []
        self.fail_with = ErrorCode.NONE

    def incarnation(self) -> object | None:
        return None if self.topic_id is None else (self.topic_id, len(self.log))

    def append(self, records: Sequence[tuple[bytes, bytes | None]]) -> ErrorCode:
        if self.fail_with != ErrorCode.NONE:
            return self.fail_with
        if self.topic_id is None:
            self.topic_id = uuid.uuid4()
        self.log.append(build_batch(list(records)))
        return ErrorCode.NONE

    def batches(self) -> Iterable[tuple[BatchHeader, memoryview]]:
        for batch in self.log:
            yield parse_batch_header(batch), memoryview(batch)

    def delete(self) -> None:
        self.topic_id = None
        self.log = []
