"""An S3 outage in the middle of an upload. Our client rides out a 30-s outage and finishes the
upload; a client whose retries are spent cannot even abort, so its parts stay behind and the
rerun clears them before it writes the key again."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from offboarding.adapters.s3.client import s3_client
from offboarding.adapters.s3.object_store import MIN_PART_SIZE, ObjectStore
from offboarding.adapters.seaweedfs import SeaweedS3
from tests.integration.tcp_gate import TcpGate

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
BUCKET = "offboarding-outage"


def test_a_rerun_clears_the_parts_an_outage_left_and_only_those(s3: SeaweedS3) -> None:
    st = ObjectStore(BUCKET, "t", client=s3_client(endpoint_url=s3.endpoint))
    st.ensure_bucket()
    key, sibling = (
        st.key("exports", "ACME", "E-1", "usage.csv"),
        st.key("exports", "ACME", "E-1", "a.csv"),
    )
    st.client.create_multipart_upload(Bucket=BUCKET, Key=sibling)  # another key's: kept
    impatient = ObjectStore(
        BUCKET,
        "t",
        client=boto3.session.Session().client(
            "s3",
            endpoint_url=s3.endpoint,
            config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2),
        ),
        upload_concurrency=1,
    )

    def outage() -> Iterator[bytes]:
        yield os.urandom(6 * MiB)  # part 1 is uploaded
        yield os.urandom(6 * MiB)
        s3.stop()  # the server goes away before the next part and the abort
        yield os.urandom(6 * MiB)

    try:
        with pytest.raises(Exception):  # noqa: B017 - whatever botocore raises for "gone"
            impatient.stream_upload(key, outage(), "text/csv", part_size=MIN_PART_SIZE)
    finally:
        s3.start()
    left = [u["Key"] for u in st.list_multipart_uploads(st.key("exports", "ACME", "E-1"))]
    assert key in left, "the outage should have left the interrupted upload behind"

    assert st.abort_unfinished(key) == left.count(key)
    st.stream_upload(key, iter([os.urandom(6 * MiB), b"tail"]), "text/csv", part_size=MIN_PART_SIZE)
    remaining = [u["Key"] for u in st.list_multipart_uploads(st.key("exports", "ACME", "E-1"))]
    assert remaining == [sibling]
    assert st.head(key)["bytes"] == 6 * MiB + 4
    assert st.abort_unfinished(key) == 0


def test_our_client_rides_out_a_30_s_outage_mid_upload(
    s3: SeaweedS3, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OFFBOARDING_S3_OUTAGE_SECONDS", "180")
    with TcpGate(s3.port) as gate:
        st = ObjectStore(BUCKET, "ride", client=s3_client(endpoint_url=gate.endpoint))
        st.ensure_bucket()
        key = st.key("exports", "ACME", "E-2", "usage.csv")
        parts = [os.urandom(6 * MiB) for _ in range(4)]
        back: list[float] = []

        def restart_later() -> None:
            time.sleep(30)
            gate.up()
            back.append(time.monotonic())

        def outage() -> Iterator[bytes]:
            yield from parts[:2]
            gate.down()  # S3 is gone for 30 s while the rest is sent
            threading.Thread(target=restart_later, daemon=True).start()
            yield from parts[2:]

        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="offboarding.adapters.s3.outage"):
            record = st.stream_upload(key, outage(), "text/csv", part_size=MIN_PART_SIZE)
        assert back, "the upload finished before S3 came back"
        assert time.monotonic() - started >= 30
        whole = b"".join(parts)
        assert record.bytes == len(whole) and record.sha256 == hashlib.sha256(whole).hexdigest()
        stored = st.client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert hashlib.sha256(stored).hexdigest() == record.sha256
        assert st.tags(key)["sha256"] == record.sha256
        assert st.list_multipart_uploads(st.key("exports", "ACME", "E-2")) == []
        assert any("S3 unreachable" in r.getMessage() for r in caplog.records)


def test_our_client_gives_up_when_the_outage_outlasts_its_window(
    s3: SeaweedS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import EndpointConnectionError

    monkeypatch.setenv("OFFBOARDING_S3_OUTAGE_SECONDS", "3")
    gate = TcpGate(s3.port)  # never up: connections are refused
    client = s3_client(endpoint_url=gate.endpoint)
    started = time.monotonic()
    with pytest.raises(EndpointConnectionError):
        client.list_buckets()
    assert 3 <= time.monotonic() - started < 60
