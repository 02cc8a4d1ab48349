"""Where a dataset's files come from: a local folder (a path or file://), S3 (s3://, through boto3,
imported only when used) or HTTP(S) (urllib). Each source opens a dataset-relative path as a binary
stream, so shards are read as they arrive instead of being loaded whole."""
from __future__ import annotations

import os
import posixpath
import random
import time
import urllib.error
import urllib.parse
import urllib.request


class DatasetNotFoundError(FileNotFoundError):
    """A file of the dataset is missing at its source (404, NoSuchKey, ENOENT)."""


def check_relative(path: str) -> str:
    """A manifest path must stay inside the dataset: relative, '/'-separated, no '.' or '..'."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise ValueError("%r is not a path relative to the dataset (no '..', no leading '/')" % path)
    return path


class LocalSource:
    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.uri = self.root

    def local_path(self, path: str) -> str:
        return os.path.join(self.root, *check_relative(path).split("/"))

    def open(self, path: str):
        full = self.local_path(path)
        try:
            return open(full, "rb")
        except FileNotFoundError:
            raise DatasetNotFoundError("%s does not exist" % full) from None

    def read_bytes(self, path: str) -> bytes:
        with self.open(path) as f:
            return f.read()


# HTTP statuses worth asking again, as the TypeScript side retries them.
_RETRY_STATUS = {429, 500, 502, 503, 504}


class HttpSource:
    """GET <base>/<path>; 429, 5xx and dropped connections are retried with backoff."""

    def __init__(self, base: str, attempts: int = 5, timeout: float = 60.0):
        self.base = base.rstrip("/")
        self.uri = self.base
        self.attempts = attempts
        self.timeout = timeout

    def local_path(self, path: str):
        return None

    def url(self, path: str) -> str:
        return "%s/%s" % (self.base, urllib.parse.quote(check_relative(path)))

    def open(self, path: str):
        url = self.url(path)
        for attempt in range(1, self.attempts + 1):
            try:
                return urllib.request.urlopen(url, timeout=self.timeout)
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    raise DatasetNotFoundError("%s: 404 not found" % url) from None
                if error.code not in _RETRY_STATUS or attempt == self.attempts:
                    raise OSError("GET %s: %d %s" % (url, error.code, error.reason)) from None
            except urllib.error.URLError as error:
                if attempt == self.attempts:
                    raise OSError("GET %s failed after %d attempts: %s" % (url, attempt, error.reason)) from None
            time.sleep(min(20.0, 0.5 * 2 ** (attempt - 1)) * random.random())
        raise AssertionError("unreachable")

    def read_bytes(self, path: str) -> bytes:
        with self.open(path) as f:
            return f.read()


class S3Source:
    """s3://bucket/prefix through boto3. The endpoint comes from AWS_ENDPOINT_URL_S3 or
    AWS_ENDPOINT_URL (with path-style addressing, as the TypeScript side does), credentials from
    boto3's usual chain. The client is made per process: DataLoader workers each get their own."""

    def __init__(self, uri: str):
        rest = uri[len("s3://"):]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ValueError("%r does not name a bucket; write s3://bucket/prefix" % uri)
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = "s3://%s%s" % (bucket, "/" + self.prefix if self.prefix else "")
        self._client = None
        self._pid = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_client"] = None
        return state

    def client(self):
        if self._client is None or self._pid != os.getpid():
            try:
                import boto3
                from botocore.config import Config
            except ImportError:
                raise ImportError(
                    "reading %s needs boto3 (apt-get install python3-boto3, or pip install boto3)" % self.uri
                ) from None
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            kwargs = {}
            if endpoint:
                kwargs["endpoint_url"] = endpoint
                kwargs["config"] = Config(s3={"addressing_style": "path"})
                if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
                    kwargs["region_name"] = "us-east-1"
            self._client = boto3.client("s3", **kwargs)
            self._pid = os.getpid()
        return self._client

    def local_path(self, path: str):
        return None

    def key(self, path: str) -> str:
        return posixpath.join(self.prefix, check_relative(path)) if self.prefix else check_relative(path)

    def open(self, path: str):
        from botocore.exceptions import ClientError

        try:
            return self.client().get_object(Bucket=self.bucket, Key=self.key(path))["Body"]
        except ClientError as error:
            response = error.response or {}
            code = response.get("Error", {}).get("Code")
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchKey", "NotFound", "404") or status == 404:
                raise DatasetNotFoundError("s3://%s/%s does not exist" % (self.bucket, self.key(path))) from None
            raise

    def read_bytes(self, path: str) -> bytes:
        body = self.open(path)
        try:
            return body.read()
        finally:
            body.close()


def source_for(uri: str):
    """The source a URI names: a folder, file:///abs/path, s3://bucket/prefix, http(s)://host/path."""
    if uri.startswith("s3://"):
        return S3Source(uri)
    if uri.startswith("http://") or uri.startswith("https://"):
        return HttpSource(uri)
    if uri.startswith("file://"):
        parsed = urllib.parse.urlparse(uri)
        if parsed.netloc not in ("", "localhost"):
            raise ValueError("%r is not a local file URI; write file:///absolute/path" % uri)
        return LocalSource(urllib.request.url2pathname(parsed.path))
    if "://" in uri:
        raise ValueError("%r: only a folder, file://, s3:// and http(s):// are supported" % uri)
    return LocalSource(uri)
