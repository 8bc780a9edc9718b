"""ObjectStore against a real S3 server (SeaweedFS started by the test module)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ConnectionClosedError

from offboarding.adapters.s3.client import s3_client
from offboarding.adapters.s3.object_store import (
    DEFAULT_UPLOAD_CONCURRENCY,
    MIN_PART_SIZE,
    ObjectStore,
    existing_record,
)
from offboarding.adapters.seaweedfs import SeaweedS3
from offboarding.export.table_writers import CSV_CONTENT_TYPE, RowCounter, csv_chunks

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
BUCKET = "offboarding-test"


@pytest.fixture
def store(s3: SeaweedS3, request: pytest.FixtureRequest) -> ObjectStore:
    st = ObjectStore(BUCKET, f"t/{request.node.name}", client=s3_client(endpoint_url=s3.endpoint))
    st.ensure_bucket()
    return st


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_put_head_list_and_delete_prefix(store: ObjectStore, s3: SeaweedS3) -> None:
    a = store.put_bytes(store.key("acct-1", "users.csv"), b"id\n1\n", "text/csv", rows=1)
    b = store.put_bytes(store.key("acct-1", "sub", "x.json"), b"{}", "application/json")
    other = store.put_bytes(store.key("acct-10", "users.csv"), b"id\n2\n", "text/csv")

    head = store.head(a.key)
    assert head is not None
    assert head["bytes"] == 5 and head["content_type"] == "text/csv"
    assert head["metadata"] == {"sha256": hashlib.sha256(b"id\n1\n").hexdigest(), "rows": "1"}
    assert head["server_side_encryption"] == "AES256"
    assert store.head(store.key("acct-1", "missing")) is None

    # "acct-1" is a folder: it must not match "acct-10"
    acct1 = store.key("acct-1")
    assert store.list_keys(acct1) == sorted([a.key, b.key])
    assert store.list_keys() == sorted([a.key, b.key, other.key])

    deleted = store.delete_prefix(acct1)
    assert sorted((d["key"], d["bytes"]) for d in deleted) == sorted([(a.key, 5), (b.key, 2)])
    assert all(d["etag"] for d in deleted)
    assert store.list_keys(acct1) == []
    assert store.head(other.key) is not None
    assert store.delete_prefix(acct1) == []


def test_delete_prefix_refuses_the_whole_bucket(store: ObjectStore) -> None:
    with pytest.raises(ValueError):
        store.delete_prefix("/")


def test_key_joins_prefix_and_refuses_dot_segments() -> None:
    st = ObjectStore("b", "/exports/", client=object())
    assert st.key("acct-1", "case-9/users.csv") == "exports/acct-1/case-9/users.csv"
    with pytest.raises(ValueError):
        st.key("acct-1", "../acct-2")


def test_stream_upload_multipart_sha256_matches(store: ObjectStore, s3: SeaweedS3) -> None:
    data = os.urandom(12 * MiB + 12345)  # 3 parts of 5 MiB
    key = store.key("big.bin")
    record = store.stream_upload(
        key, chunks_of(data, 700_001), "application/octet-stream", part_size=MIN_PART_SIZE, rows=7
    )
    assert record.bytes == len(data)
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    head = store.head(key)
    assert head is not None and head["etag"].endswith("-3")  # really multipart
    assert head["server_side_encryption"] == "AES256"
    assert store.tags(key) == {"sha256": record.sha256, "rows": "7"}
    body = store.client.get_object(Bucket=store.bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == record.sha256
    assert existing_record(store, key) == record
    assert store.list_multipart_uploads(store.key()) == []


def test_csv_stream_round_trips_through_s3(store: ObjectStore) -> None:
    n = 300_000
    table = pa.table({"id": pa.array(range(n)), "note": [f'row {i}, "q"\n日本' for i in range(n)]})
    counted = RowCounter(table.to_batches(max_chunksize=20_000))
    key = store.key("table.csv")
    record = store.stream_upload(
        key, csv_chunks(counted), CSV_CONTENT_TYPE, part_size=MIN_PART_SIZE, rows=counted
    )
    assert record.rows == n and record.bytes > MIN_PART_SIZE
    body = store.client.get_object(Bucket=store.bucket, Key=key)["Body"].read()
    back = pacsv.read_csv(
        pa.py_buffer(body), parse_options=pacsv.ParseOptions(newlines_in_values=True)
    )
    assert back.equals(table)
    assert existing_record(store, key) == record


def test_small_stream_is_one_put_with_metadata(store: ObjectStore) -> None:
    key = store.key("small.csv")
    record = store.stream_upload(key, [b"a,b\n", b"1,2\n"], "text/csv", rows=1)
    head = store.head(key)
    assert head is not None and "-" not in head["etag"]
    assert head["metadata"] == {"sha256": record.sha256, "rows": "1"}
    assert store.tags(key) == {"sha256": record.sha256, "rows": "1"}
    assert existing_record(store, key) == record
    empty = store.stream_upload(store.key("empty.csv"), iter(()), "text/csv")
    assert empty.bytes == 0 and empty.sha256 == hashlib.sha256(b"").hexdigest()


def test_failing_stream_aborts_upload_and_leaves_nothing(store: ObjectStore) -> None:
    key = store.key("broken.csv")

    def broken() -> Iterator[bytes]:
        yield os.urandom(6 * MiB)  # one part is uploaded before the failure
        yield os.urandom(6 * MiB)
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="database went away"):
        store.stream_upload(key, broken(), "text/csv", part_size=MIN_PART_SIZE)
    assert store.list_multipart_uploads(store.key()) == []
    assert store.head(key) is None
    assert existing_record(store, key) is None


class _PartProbe:
    """Counts UploadParts on the wire at once, and slows each so that overlap shows."""

    def __init__(self, fail_part: int | None = None) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.sent: list[int] = []
        self.fail_part = fail_part

    def before(self, params: Any, context: dict[str, Any], **_: Any) -> None:
        number = int(params["query_string"]["partNumber"])
        context["probe_part"] = number
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)
        if number == self.fail_part:
            with self.lock:
                self.now -= 1
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "UploadPart")

    def after(self, context: dict[str, Any], **_: Any) -> None:
        with self.lock:
            self.now -= 1
            self.sent.append(context["probe_part"])


def _probed_store(s3: SeaweedS3, name: str, probe: _PartProbe, concurrency: int) -> ObjectStore:
    client = s3_client(endpoint_url=s3.endpoint)
    client.meta.events.register("before-call.s3.UploadPart", probe.before)
    client.meta.events.register("after-call.s3.UploadPart", probe.after)
    return ObjectStore(BUCKET, f"t/{name}", client=client, upload_concurrency=concurrency)


def test_parts_upload_while_the_stream_produces_the_next(s3: SeaweedS3) -> None:
    probe = _PartProbe()
    st = _probed_store(s3, "pipelined", probe, concurrency=3)
    produced: list[int] = []
    ahead: list[int] = []

    def stream() -> Iterator[bytes]:
        for i in range(8):
            # parts the producer holds or has handed over, minus those already sent
            ahead.append(len(produced) - len(probe.sent))
            produced.append(i)
            yield os.urandom(MIN_PART_SIZE)

    record = st.stream_upload(st.key("p.bin"), stream(), "x/y", part_size=MIN_PART_SIZE)
    head = st.head(record.key)
    assert head is not None and head["etag"].endswith("-8")
    body = st.client.get_object(Bucket=BUCKET, Key=record.key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == record.sha256  # parts completed in order
    assert 2 <= probe.most <= 3  # overlapped, and never more than the configured concurrency
    assert max(ahead) <= 3 + 1  # memory bound: the parts in flight plus the one being built
    assert sorted(probe.sent) == list(range(1, 9))


def test_one_part_at_a_time_when_concurrency_is_one(s3: SeaweedS3) -> None:
    probe = _PartProbe()
    st = _probed_store(s3, "sequential", probe, concurrency=1)
    data = os.urandom(3 * MIN_PART_SIZE + 1)
    record = st.stream_upload(st.key("s.bin"), chunks_of(data, MiB), "x/y", part_size=MIN_PART_SIZE)
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert probe.most == 1 and probe.sent == [1, 2, 3, 4]
    with pytest.raises(ValueError):
        ObjectStore(BUCKET, "t/x", client=object(), upload_concurrency=0)


def test_failed_part_while_others_in_flight_aborts_and_leaves_no_orphans(s3: SeaweedS3) -> None:
    probe = _PartProbe(fail_part=3)
    st = _probed_store(s3, "partfail", probe, concurrency=4)
    consumed: list[int] = []

    def stream() -> Iterator[bytes]:
        for i in range(12):
            consumed.append(i)
            yield os.urandom(MIN_PART_SIZE)

    key = st.key("f.bin")
    with pytest.raises(ClientError, match="AccessDenied"):
        st.stream_upload(key, stream(), "x/y", part_size=MIN_PART_SIZE)
    assert len(consumed) < 12  # the stream stopped once the failure surfaced
    assert probe.now == 0  # every part in flight finished before the abort
    assert st.list_multipart_uploads(st.key()) == []
    assert st.head(key) is None


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="glibc on Linux")
def test_part_buffers_tuning_applies_once_in_a_fresh_process() -> None:
    code = (
        "from offboarding.adapters.s3.client import return_part_buffers_to_os as r; print(r(), r())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.split() == ["True", "True"]


def test_existing_record_ignores_objects_without_checksum(store: ObjectStore) -> None:
    key = store.key("foreign.txt")
    store.client.put_object(Bucket=store.bucket, Key=key, Body=b"not ours")
    assert existing_record(store, key) is None
    assert existing_record(store, store.key("absent.txt")) is None


def test_presigned_url_downloads_with_urllib(store: ObjectStore) -> None:
    record = store.put_bytes(store.key("report.pdf"), b"%PDF-1.7 fake", "application/pdf")
    url = store.presign(record.key, 600)
    assert "X-Amz-Expires=600" in url
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"%PDF-1.7 fake"
    with pytest.raises(ValueError):
        store.presign(record.key, 8 * 24 * 3600)  # SigV4 allows at most 7 days


def test_endpoint_from_standard_aws_env(s3: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> None:
    """No endpoint in our code: boto3 reads AWS_ENDPOINT_URL_S3 itself."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint)
    st = ObjectStore(BUCKET, "t/env")
    assert st.client.meta.endpoint_url == s3.endpoint
    st.ensure_bucket()
    record = st.put_bytes(st.key("hello.txt"), "こんにちは".encode(), "text/plain")
    assert existing_record(st, record.key) == record


def _fake_response(status: int, body: bytes) -> AWSResponse:
    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield body

    return AWSResponse("http://fault", status, {}, Raw())


def test_part_uploads_retry_throttling_and_dropped_connections(s3: SeaweedS3) -> None:
    client = s3_client(endpoint_url=s3.endpoint)
    faults = ["slowdown", "dropped", "500"]
    attempts: list[int] = []

    def inject(request: Any, **_: Any) -> AWSResponse | None:
        attempts.append(1)
        fault = faults.pop(0) if faults else None
        if fault == "slowdown":
            return _fake_response(503, b"<Error><Code>SlowDown</Code></Error>")
        if fault == "dropped":
            raise ConnectionClosedError(endpoint_url=request.url)
        if fault == "500":
            return _fake_response(500, b"<Error><Code>InternalError</Code></Error>")
        return None

    client.meta.events.register("before-send.s3.UploadPart", inject)
    st = ObjectStore(BUCKET, "t/retry", client=client)
    data = os.urandom(11 * MiB)
    record = st.stream_upload(st.key("x.bin"), chunks_of(data, MiB), "x/y", part_size=MIN_PART_SIZE)
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert len(attempts) == 3 + 3  # three parts, three injected faults retried
    body = client.get_object(Bucket=BUCKET, Key=record.key)["Body"].read()
    assert body == data


class _NoSSE:
    """A client whose server refuses SSE, as some S3-compatible servers do."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            if "ServerSideEncryption" in kwargs:
                error = {"Error": {"Code": "NotImplemented", "Message": "no SSE"}}
                raise ClientError(error, name)
            return real(**kwargs)

        return call if name in {"put_object", "create_multipart_upload"} else real


def test_sse_rejection_falls_back_and_is_logged(
    s3: SeaweedS3, caplog: pytest.LogCaptureFixture
) -> None:
    st = ObjectStore(BUCKET, "t/nosse", client=_NoSSE(s3_client(endpoint_url=s3.endpoint)))
    with caplog.at_level(logging.WARNING, logger="offboarding.adapters.s3.object_store"):
        record = st.put_bytes(st.key("a.txt"), b"plain", "text/plain")
    assert "WITHOUT SSE" in caplog.text
    assert st.server_side_encryption is None
    head = st.head(record.key)
    assert head is not None and head["server_side_encryption"] is None


# -- memory -----------------------------------------------------------------------------------

_MEMORY_PROBE = textwrap.dedent(
    """
    import json, sys
    import numpy as np, pyarrow as pa
    from offboarding.adapters.s3.client import s3_client
    from offboarding.adapters.s3.object_store import ObjectStore
    from offboarding.export.table_writers import CSV_CONTENT_TYPE, RowCounter, csv_chunks

    def status_kib(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])

    def batches(rows, size=50_000):
        base = np.datetime64("2025-01-01T00:00:00", "us")
        for start in range(0, rows, size):
            i = np.arange(start, min(start + size, rows))
            yield pa.record_batch({
                "account_id": pa.array(np.char.add("acct-", (i % 1000).astype(str))),
                "user_id": pa.array(np.char.add("user-", (i % 50_000).astype(str))),
                "ts": pa.array(base + (i * 1_000_003).astype("timedelta64[us]")),
                "event": pa.array(np.char.add("event_", (i % 50).astype(str))),
                "quantity": pa.array(i % 1000),
                "metadata": pa.array(np.char.add("some, metadata \\"quoted\\" #", i.astype(str))),
            })

    endpoint, bucket, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = ObjectStore(bucket, "t/memory", client=s3_client(endpoint_url=endpoint))
    store.ensure_bucket()
    # Warm up to the pipeline's steady state: imports, and enough parts (600 k rows, ~11
    # parts) that every upload thread, its malloc arena and its pooled connection exist
    # before the peak mark is reset. A one-part warm-up left those to the measured run, and
    # only a long stream reaches all of them: that showed as ~20-35 MiB of "growth" with
    # rows that was really start-up (measured: 200 k rows +60, 2 M rows +78 MiB).
    warm = RowCounter(batches(600_000))
    store.stream_upload(store.key("warm.csv"), csv_chunks(warm), CSV_CONTENT_TYPE,
                        part_size=5 * 2**20, rows=warm)
    try:  # reset the peak-RSS mark (VmHWM) to the current RSS
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    before = status_kib("VmHWM")
    counted = RowCounter(batches(rows))
    record = store.stream_upload(store.key(f"{rows}.csv"), csv_chunks(counted),
                                 CSV_CONTENT_TYPE, part_size=5 * 2**20, rows=counted)
    peak = status_kib("VmHWM")
    print(json.dumps({"rows": record.rows, "bytes": record.bytes,
                      "growth_mib": (peak - before) / 1024}))
    """
)


def _peak_rss_growth(s3: SeaweedS3, rows: int) -> dict[str, Any]:
    """Peak RSS growth of a fresh process that streams `rows` rows (Arrow's memory included,
    which tracemalloc would not see)."""
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, s3.endpoint, BUCKET, str(rows)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
        env=os.environ.copy(),
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_streaming_memory_does_not_grow_with_rows(s3: SeaweedS3) -> None:
    small = _peak_rss_growth(s3, 200_000)
    large = _peak_rss_growth(s3, 2_000_000)
    assert small["rows"] == 200_000 and large["rows"] == 2_000_000
    assert large["bytes"] > 9 * small["bytes"]  # ~10x the data went through...
    # ...but the peak grew by about the same working set in both runs, far below the data:
    # up to `concurrency + 1` parts, a batch and its CSV text, botocore's requests (measured
    # after a steady-state warm-up: 35-45 MiB at 200 k rows, 40-50 MiB at 2 M rows). A
    # 200 k-row stream is only ~4 parts, so it never fills the pipeline; a long one may hold
    # all `concurrency + 1` parts at once when S3 lags behind the writer (seen beside a
    # CPU-heavy job: 18.9 MiB at 200 k, 56.0 at 2 M). That is the most the growth may differ.
    pipeline_mib = (DEFAULT_UPLOAD_CONCURRENCY + 1) * 5
    assert large["growth_mib"] < small["growth_mib"] + pipeline_mib + 16, (small, large)
    assert large["growth_mib"] < large["bytes"] / MiB / 2, (small, large)
