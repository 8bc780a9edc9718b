"""Fixtures shared by the S3 tests: one real SeaweedFS server per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from offboarding.adapters.seaweedfs import SeaweedS3


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """One SeaweedFS per module; boto3 isolated from the developer's ~/.aws and endpoints."""
    home = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "offboarding-test")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "offboarding-test")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_CONFIG_FILE", str(home / "config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
        for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            mp.delenv(var, raising=False)
        with SeaweedS3(tmp_path_factory.mktemp("seaweed")) as server:
            yield server
