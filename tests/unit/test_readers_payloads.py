"""The staging store's file of records: appended, read back by place, here and by a reader of
its own; a write that finds no room stops the command naming the file."""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path

import pytest

from importer.errors import OutputWriteError
from importer.readers.payloads import PayloadFile, decode_value, encode_value
from importer.readers.staging import StagingStore


def test_records_are_read_back_by_place_here_and_by_a_reader_of_their_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "records"
    with PayloadFile(path, "the records") as written:
        places = [written.append(data) for data in (b"one", b"", b"three" * 1000)]
        marshal_place = written.append_value(encode_value({"a": [1, 2.5]}))
        json_place = written.append_value('{"deep":[[[]]]}')
        written.flush()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with PayloadFile.reading(path, "the records") as reading:
            for source in (written, reading):
                sizes = [3, 0, 5000]
                assert [source.read(at, n) for at, n in zip(places, sizes, strict=True)] == [
                    b"one",
                    b"",
                    b"three" * 1000,
                ]
                assert decode_value(source.read_value(*marshal_place)) == {"a": [1, 2.5]}
                assert json_place[1] < 0  # JSON text: its size negative
                assert source.read_value(*json_place) == '{"deep":[[[]]]}'
            with pytest.raises(ValueError, match="reading only"):
                reading.append(b"x")


class _FullDisk(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_record_that_finds_no_room_stops_naming_the_store(tmp_path: Path) -> None:
    with StagingStore(tmp_path) as store:
        store._records._out = _FullDisk()  # type: ignore[assignment]
        with pytest.raises(OutputWriteError, match="staging files") as raised:
            store.put("tickets", "1", "t.json:1", record={"id": 1})
        assert str(store.path) in str(raised.value)


def test_rows_in_sqlite_have_their_records_readable_by_another_process(tmp_path: Path) -> None:
    """A row reaches SQLite only with its record flushed: a planning worker's store, opened on
    the committed file, reads every record (a replaced one too) though the writer's buffer is
    far from full."""
    with StagingStore(tmp_path) as store:
        seqs = [store.put("k", str(n), f"f:{n}", record=[n, "x" * n]) for n in range(50)]
        store.replace(seqs[3], "replaced")
        for n in range(50, 100):
            store.put("k", str(n), f"f:{n}", record=[n, "x" * n])
        store.commit()
        reading = StagingStore.reading(store.path, store.record_kinds, store.kinds)
        try:
            read = [staged.record for staged in reading.of_kind("k")]
        finally:
            reading.close()
    assert read[3] == "replaced"
    assert read[:3] + read[4:] == [[n, "x" * n] for n in range(100) if n != 3]
