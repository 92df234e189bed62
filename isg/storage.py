"""Where finished report exports are kept, from the environment (isg/settings.py calls this).

- By default: a private local folder, ISG_EXPORTS_DIR (0700, files 0600); nothing to set here.
- ISG_EXPORTS_STORAGE: any Django storage backend, e.g. storages.backends.s3.S3Storage with
  django-storages' own AWS_* settings from the environment (AWS_STORAGE_BUCKET_NAME,
  AWS_S3_ENDPOINT_URL, AWS_S3_REGION_NAME; credentials from the usual AWS variables or an
  instance role).
- ISG_EXPORTS_S3_BUCKET (issue 13): finished exports are objects in that private bucket
  (django-storages' S3Storage over boto3), shared by every web node and worker, so nodes keep
  no files of their own. ISG_EXPORTS_S3_ENDPOINT_URL points at an S3-compatible service
  (MinIO, Ceph, a cloud's own); ISG_EXPORTS_S3_REGION; ISG_EXPORTS_PREFIX (key prefix,
  "exports"). Credentials only from boto3's own sources: AWS_ACCESS_KEY_ID and
  AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment, AWS_PROFILE, or the
  instance's role; never in a file. Objects get no ACL (the bucket's own: keep it private,
  Block Public Access on) and ISG never hands out their URLs: every download streams through
  ISG's download view, after its sign-in, role and organisation checks and its audit event.

Every web node and worker must see the same storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    return int(environ.get(name, default))


def exports_storage(environ: Mapping[str, str]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(STORAGES["exports"] or None for the local folder, other settings to add)."""
    if environ.get("ISG_EXPORTS_S3_BUCKET"):
        if environ.get("ISG_EXPORTS_STORAGE"):
            raise ImproperlyConfigured(
                "Set ISG_EXPORTS_S3_BUCKET or ISG_EXPORTS_STORAGE, not both."
            )
        return _s3(environ), {}
    if environ.get("ISG_EXPORTS_STORAGE"):
        storage = {
            "BACKEND": environ["ISG_EXPORTS_STORAGE"],
            "OPTIONS": {"location": environ.get("ISG_EXPORTS_PREFIX", "exports")},
        }
        return storage, {
            "AWS_STORAGE_BUCKET_NAME": environ.get("AWS_STORAGE_BUCKET_NAME"),
            "AWS_S3_ENDPOINT_URL": environ.get("AWS_S3_ENDPOINT_URL"),
            "AWS_S3_REGION_NAME": environ.get("AWS_S3_REGION_NAME"),
            "AWS_DEFAULT_ACL": None,  # private objects: the bucket's own policy, never public
            "AWS_QUERYSTRING_AUTH": True,
        }
    return None, {}


def _s3(environ: Mapping[str, str]) -> dict[str, Any]:
    from botocore.config import Config as S3ClientConfig

    # Server-side encryption: "" (the bucket's default), "AES256" or "aws:kms" (with
    # ISG_EXPORTS_S3_KMS_KEY_ID, or the account's S3 key).
    sse = environ.get("ISG_EXPORTS_S3_SSE", "")
    object_parameters = {"ServerSideEncryption": sse} if sse else {}
    if sse == "aws:kms" and environ.get("ISG_EXPORTS_S3_KMS_KEY_ID"):
        object_parameters["SSEKMSKeyId"] = environ["ISG_EXPORTS_S3_KMS_KEY_ID"]
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": environ["ISG_EXPORTS_S3_BUCKET"],
            "location": environ.get("ISG_EXPORTS_PREFIX", "exports"),
            "endpoint_url": environ.get("ISG_EXPORTS_S3_ENDPOINT_URL") or None,
            "region_name": environ.get("ISG_EXPORTS_S3_REGION") or None,
            "default_acl": None,
            "object_parameters": object_parameters,
            "file_overwrite": True,  # a key is an export's id: a rebuild replaces its own
            # url() is never called; were it, a signed link that expires within a minute.
            "querystring_auth": True,
            "querystring_expire": 60,
            # A download is fetched into a temporary file past 20 MB, not held in memory.
            "max_memory_size": 20 * 1024 * 1024,
            # A bucket that does not answer fails a download page in seconds, not minutes
            # (botocore's defaults: 60 s to connect, 5 attempts).
            "client_config": S3ClientConfig(
                connect_timeout=_int(environ, "ISG_EXPORTS_S3_CONNECT_TIMEOUT", 5),
                read_timeout=_int(environ, "ISG_EXPORTS_S3_READ_TIMEOUT", 60),
                retries={
                    "mode": "standard",
                    "max_attempts": _int(environ, "ISG_EXPORTS_S3_ATTEMPTS", 3),
                },
                # "path" for services without virtual-hosted buckets; unset: botocore decides.
                s3={"addressing_style": environ.get("ISG_EXPORTS_S3_ADDRESSING_STYLE") or None},
            ),
        },
    }
