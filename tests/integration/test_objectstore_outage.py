"""An S3 outage in the middle of an upload: the upload's own abort cannot reach the server, so
its parts stay behind; the rerun clears them before it writes the key again."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from offboarding.adapters.s3.client import s3_client
from offboarding.adapters.s3.object_store import MIN_PART_SIZE, ObjectStore
from offboarding.adapters.seaweedfs import SeaweedS3

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
