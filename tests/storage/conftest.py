from __future__ import annotations

import pytest

from kafkalite.storage import LogConfig, MemoryLog, PartitionLog


@pytest.fixture(params=["file", "memory"])
def open_log(request, tmp_path):
    """open_log(config=LogConfig(), now_ms=0) opens (or reopens) the same log; file or memory."""
    files = None
    if request.param == "memory":
        from kafkalite.storage import MemoryFiles

        files = MemoryFiles()
    opened = []

    def opener(config: LogConfig = LogConfig(), now_ms: int = 0):
        if files is None:
            log = PartitionLog.open(tmp_path / "topic-0", config, now_ms)
        else:
            log = MemoryLog(config, now_ms=now_ms, files=files, directory=tmp_path / "topic-0")
        opened.append(log)
        return log

    yield opener
    for log in opened:
        log.close()
