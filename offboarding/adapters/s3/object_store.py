"""S3 object store for exports: streamed multipart uploads with SHA-256, SSE, presigned links.

The client comes from `adapters.s3.client`; only the bucket and key prefix are ours.

Checksums: a streamed object's SHA-256 and row count are known only after its last byte, when
user metadata can no longer be set without a server-side copy (measured on SeaweedFS: 2.1 s
for 200 MB, i.e. a second full write; on AWS also capped at 5 GB). So:
- objects sent in one PutObject carry them as user metadata (x-amz-meta-sha256 / -rows) *and*
  object tags;
- multipart objects get them as object tags (PutObjectTagging, ~10 ms, no data copy) right after
  CompleteMultipartUpload.
Tags belong to the object version: an overwrite drops them, so they never describe stale bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, SupportsInt
from urllib.parse import urlencode

from botocore.exceptions import ClientError

from offboarding.adapters.s3.client import MiB, shared_s3_client

log = logging.getLogger(__name__)

MIN_PART_SIZE = 5 * MiB  # S3 minimum for every part but the last
DEFAULT_PART_SIZE = 16 * MiB
# Parts of one stream in flight at once while the next part is produced. Memory per stream is
# (DEFAULT_UPLOAD_CONCURRENCY + 1) parts; boto3 clients are thread-safe (see `s3_client`'s pool).
DEFAULT_UPLOAD_CONCURRENCY = 4
MAX_PARTS = 10_000
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 limit
SSE = "AES256"
# Error codes with which a server says it does not do SSE-S3. InternalError is what SeaweedFS
# answers when it has no key-encryption key; we only fall back if the retry without SSE works.
_SSE_REJECTED = {"NotImplemented", "InvalidArgument", "InvalidRequest", "InternalError"}


@dataclass(frozen=True)
class ObjectRecord:
    """What a manifest says about one stored object."""

    key: str
    bytes: int
    sha256: str
    content_type: str
    rows: int | None = None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _is_missing(exc: ClientError) -> bool:
    return _code(exc) in {"404", "NoSuchKey", "NotFound", "NoSuchBucket"} or _status(exc) == 404


def _tags(sha256: str, rows: int | None) -> dict[str, str]:
    tags = {"sha256": sha256}
    if rows is not None:
        tags["rows"] = str(rows)
    return tags


def _iter_parts(chunks: Iterable[bytes], part_size: int) -> Iterator[bytes]:
    """Re-slice a byte stream into exact `part_size` pieces (the last one shorter).

    Memory stays at one part plus one incoming chunk, however long the stream is.
    """
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        while len(buf) >= part_size:
            with memoryview(buf) as view:  # one copy out, not two (a slice would copy too)
                part = bytes(view[:part_size])
            del buf[:part_size]
            yield part
    if buf:
        yield bytes(buf)


class ObjectStore:
    """One bucket and key prefix. Prefix arguments are folders: "a/b" means "a/b/"."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        client: Any = None,
        upload_concurrency: int = DEFAULT_UPLOAD_CONCURRENCY,
    ) -> None:
        if upload_concurrency < 1:
            raise ValueError("upload_concurrency must be >= 1")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client if client is not None else shared_s3_client()
        self.server_side_encryption: str | None = SSE
        self.upload_concurrency = upload_concurrency

    # -- keys -----------------------------------------------------------------------------

    def key(self, *parts: str) -> str:
        """Join the store prefix and `parts` with "/". Refuses "." and ".." segments: a
        path-based server (SeaweedFS's filer) could resolve them outside an account's prefix."""
        segments = [s for p in (self.prefix, *parts) for s in str(p).split("/") if s]
        if any(s in {".", ".."} or any(ord(c) < 32 for c in s) for s in segments):
            raise ValueError(f"unsafe key segment in {parts!r}")
        return "/".join(segments)

    @staticmethod
    def _folder(prefix: str) -> str:
        # "acct-1" must not match "acct-10/...": list and delete whole folders only
        prefix = prefix.strip("/")
        return f"{prefix}/" if prefix else ""

    # -- bucket and objects ---------------------------------------------------------------

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if not _is_missing(exc):
                raise
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except ClientError as exc2:
                if _code(exc2) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise

    def _with_sse(self, call: Callable[..., Any], **kwargs: Any) -> Any:
        """Call with SSE-S3 requested; if the server rejects SSE, log it and go on without."""
        if self.server_side_encryption is None:
            return call(**kwargs)
        try:
            return call(**kwargs, ServerSideEncryption=self.server_side_encryption)
        except ClientError as exc:
            if _code(exc) not in _SSE_REJECTED:
                raise
            result = call(**kwargs)  # raises again if SSE was not the problem
            log.warning(
                "s3://%s rejected server-side encryption (%s); objects are stored WITHOUT SSE",
                self.bucket,
                _code(exc),
            )
            self.server_side_encryption = None
            return result

    def put_bytes(
        self, key: str, data: bytes, content_type: str, rows: int | None = None
    ) -> ObjectRecord:
        sha = hashlib.sha256(data).hexdigest()
        tags = _tags(sha, rows)
        self._with_sse(
            self.client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            Metadata=tags,
            Tagging=urlencode(tags),
        )
        return ObjectRecord(key, len(data), sha, content_type, rows)

    def head(self, key: str) -> dict[str, Any] | None:
        """Size, ETag, content type, user metadata and SSE of `key`; None if absent."""
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        return {
            "key": key,
            "bytes": r["ContentLength"],
            "etag": r.get("ETag", "").strip('"'),
            "content_type": r.get("ContentType"),
            "metadata": r.get("Metadata", {}),
            "server_side_encryption": r.get("ServerSideEncryption"),
            "last_modified": r.get("LastModified"),
        }

    def tags(self, key: str) -> dict[str, str]:
        r = self.client.get_object_tagging(Bucket=self.bucket, Key=key)
        return {t["Key"]: t["Value"] for t in r.get("TagSet", [])}

    def _objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._folder(prefix)):
            yield from page.get("Contents", [])

    def list_keys(self, prefix: str | None = None) -> list[str]:
        """Keys under folder `prefix` (default: the store's prefix), sorted."""
        return sorted(o["Key"] for o in self._objects(self.prefix if prefix is None else prefix))

    def delete_prefix(self, prefix: str) -> list[dict[str, Any]]:
        """Delete every object under folder `prefix` and abort its unfinished uploads.

        Returns the deleted objects (key, bytes, etag) for the audit log. An empty prefix is
        refused: it would mean the whole bucket.
        """
        if not prefix.strip("/"):
            raise ValueError("refusing to delete an empty prefix (the whole bucket)")
        for upload in self.list_multipart_uploads(prefix):
            self._abort(upload["Key"], upload["UploadId"])
        deleted: list[dict[str, Any]] = []
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            if not batch:
                return
            r = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": o["key"]} for o in batch], "Quiet": True},
            )
            if r.get("Errors"):
                raise RuntimeError(f"delete failed for {r['Errors'][:5]}")
            deleted.extend(batch)
            batch.clear()

        for obj in self._objects(prefix):
            batch.append({"key": obj["Key"], "bytes": obj["Size"], "etag": obj["ETag"].strip('"')})
            if len(batch) == 1000:  # DeleteObjects limit
                flush()
        flush()
        return deleted

    def presign(self, key: str, expires_seconds: int) -> str:
        """A GET link that stops working after `expires_seconds` (at most 7 days, SigV4)."""
        if not 0 < expires_seconds <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"expires_seconds must be in 1..{MAX_PRESIGN_SECONDS}")
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_seconds
        )

    def list_multipart_uploads(self, prefix: str | None = None) -> list[dict[str, Any]]:
        """Unfinished multipart uploads (Key, UploadId, Initiated) under folder `prefix`."""
        folder = self._folder(self.prefix if prefix is None else prefix)
        paginator = self.client.get_paginator("list_multipart_uploads")
        uploads: list[dict[str, Any]] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=folder):
            uploads.extend(page.get("Uploads", []))
        return uploads

    def abort_unfinished(self, key: str) -> int:
        """Abort the unfinished multipart uploads of exactly `key` (what a run killed mid-upload,
        or one whose own abort failed because S3 was down, left behind); how many there were.
        Called before the key is written again, so a rerun leaves no orphan parts."""
        folder = key.rsplit("/", 1)[0] if "/" in key else ""
        left = [u for u in self.list_multipart_uploads(folder) if u["Key"] == key]
        for upload in left:
            self._abort(upload["Key"], upload["UploadId"])
        return len(left)

    def _complete(self, key: str, upload_id: str, parts: list[dict[str, Any]], size: int) -> None:
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except ClientError as exc:
            # A retried Complete whose first attempt succeeded but whose answer was lost
            head = self.head(key) if _code(exc) == "NoSuchUpload" else None
            completed = (
                head is not None
                and head["bytes"] == size
                and head["etag"].endswith(f"-{len(parts)}")
            )
            if not completed:
                raise

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if _code(exc) != "NoSuchUpload":
                raise

    # -- streaming ------------------------------------------------------------------------

    def _upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        """One UploadPart; its own API call, so botocore's standard retries apply to it."""
        r = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": r["ETag"]}

    def stream_upload(
        self,
        key: str,
        chunks: Iterable[bytes],
        content_type: str,
        part_size: int = DEFAULT_PART_SIZE,
        rows: SupportsInt | None = None,
    ) -> ObjectRecord:
        """Upload a byte stream of unknown length with memory bounded by `part_size`.

        SHA-256 and size are computed on the fly. A stream shorter than one part goes up as a
        single PutObject. Longer streams are pipelined: up to `upload_concurrency` parts upload
        in background threads while the stream produces the next one, so writing and sending
        overlap and memory stays at `upload_concurrency + 1` parts. On any exception (in the
        stream or in S3) the parts still queued are cancelled, those in flight are waited for,
        and then the multipart upload is aborted, so no orphan parts are left; the exception
        propagates. `rows` is read with `int()` only after the stream is exhausted, so it may
        be a counter fed by the stream (`table_writers.RowCounter`).
        """
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be >= {MIN_PART_SIZE} (S3 minimum)")
        parts = _iter_parts(chunks, part_size)
        first = next(parts, b"")
        second = next(parts, None)
        if second is None:  # fits one request
            return self.put_bytes(key, first, content_type, rows=_rows(rows))

        upload = self._with_sse(
            self.client.create_multipart_upload,
            Bucket=self.bucket,
            Key=key,
            ContentType=content_type,
        )
        upload_id = upload["UploadId"]
        sha = hashlib.sha256()
        size = 0
        done: list[dict[str, Any]] = []
        pool = ThreadPoolExecutor(self.upload_concurrency, thread_name_prefix="s3-part")
        in_flight: deque[Future[dict[str, Any]]] = deque()
        try:
            stream = itertools.chain((first, second), parts)
            del first, second  # the chain drops them once consumed
            for number, part in enumerate(stream, start=1):
                if number > MAX_PARTS:
                    raise ValueError(f"more than {MAX_PARTS} parts: raise part_size")
                sha.update(part)  # hashlib releases the GIL: the uploads keep going meanwhile
                size += len(part)
                if len(in_flight) >= self.upload_concurrency:
                    done.append(in_flight.popleft().result())  # in order; raises its error
                in_flight.append(pool.submit(self._upload_part, key, upload_id, number, part))
                del part  # the future holds the only reference until it is sent
            while in_flight:
                done.append(in_flight.popleft().result())
            pool.shutdown()
            self._complete(key, upload_id, done, size)
        except BaseException:
            # no part may land after the abort, or it would be an orphan
            pool.shutdown(wait=True, cancel_futures=True)
            try:
                self._abort(key, upload_id)
            except Exception:
                log.exception("could not abort multipart upload %s of %s", upload_id, key)
            raise
        record = ObjectRecord(key, size, sha.hexdigest(), content_type, _rows(rows))
        tags = _tags(record.sha256, record.rows)
        self.client.put_object_tagging(
            Bucket=self.bucket,
            Key=key,
            Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
        )
        return record


def _rows(rows: SupportsInt | None) -> int | None:
    return None if rows is None else int(rows)


def existing_record(store: ObjectStore, key: str) -> ObjectRecord | None:
    """The record of a complete object at `key`, or None (absent, or no checksum stored).

    An object without its sha256 (a crash between completing the upload and tagging it) counts
    as absent, so a rerun uploads it again instead of trusting unverified bytes.
    """
    head = store.head(key)
    if head is None:
        return None
    meta = head["metadata"]
    if "sha256" not in meta:
        meta = store.tags(key)
    if "sha256" not in meta:
        return None
    rows = meta.get("rows")
    return ObjectRecord(
        key=key,
        bytes=head["bytes"],
        sha256=meta["sha256"],
        content_type=head["content_type"] or "application/octet-stream",
        rows=int(rows) if rows is not None else None,
    )
