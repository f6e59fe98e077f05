"""One GCS endpoint for every client that touches a gs:// workdir, checked before any compute.

Three clients write a gs:// workdir, each configured its own way:

  client                                   used for                        endpoint override
  etils.epath -> fsspec -> gcsfs           JSON, datasets, tokenizer, HF,  STORAGE_EMULATOR_HOST
                                           metrics, TensorBoard, report
  orbax -> TensorStore `gcs` kvstore       checkpoint arrays               TENSORSTORE_GCS_HTTP_URL
  orbax -> google-cloud-storage            bucket layout check on listing  STORAGE_EMULATOR_HOST

(epath picks gcsfs because TensorFlow is not installed; with TensorFlow it would use tf.io.gfile.)
With no override every client talks to storage.googleapis.com with Google's default credentials.

With an emulator (STORAGE_EMULATOR_HOST set), `configure_gcs` points the others at the same
endpoint and makes every client anonymous, so nothing asks the GCE metadata server or
googleapis.com for credentials:
  * TensorStore: TENSORSTORE_GCS_HTTP_URL = the emulator; GOOGLE_AUTH_TOKEN_FOR_TESTING, a fixed
    bearer token TensorStore sends without looking for credentials (the emulator ignores it);
  * gcsfs: token="anon"; its core GCSFileSystem, because gcsfs's default ExtendedGcsFileSystem
    asks the Storage Control gRPC API for the bucket layout, which no emulator serves;
  * google-auth: NO_GCE_CHECK=true (no metadata-server probe);
  * google-cloud-storage goes anonymous by itself when STORAGE_EMULATOR_HOST is set.
A half-configured environment (TensorStore redirected, gcsfs not) fails here, before any compute,
instead of writing half the run to the real GCS.

gcsfs's listing cache is turned off for gs:// runs: TensorStore (and other hosts) write objects
gcsfs never hears of, and a cached listing would hide a checkpoint step that exists.
"""

from __future__ import annotations

import os
import sys
import uuid

from etils import epath

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
TENSORSTORE_URL_ENV = "TENSORSTORE_GCS_HTTP_URL"
TENSORSTORE_TOKEN_ENV = "GOOGLE_AUTH_TOKEN_FOR_TESTING"
_GCSFS_EXTENDED_ENV = "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"


class GcsConfigError(RuntimeError):
  """The GCS clients are misconfigured (a missing package, or endpoints that disagree)."""


def emulator_url() -> str | None:
  """The emulator endpoint as a URL (http:// added to a bare host:port), or None."""
  host = os.environ.get(EMULATOR_ENV, "")
  if host in ("", "default"):
    return None
  return (host if host.startswith(("http://", "https://")) else f"http://{host}").rstrip("/")


def configure_gcs(*paths: epath.PathLike) -> str | None:
  """Points every GCS client at one endpoint; returns the emulator URL (None: real GCS).

  Call before the first gs:// access. `paths` are the run's paths: a gs:// one requires gcsfs.
  """
  url = emulator_url()
  tensorstore_url = os.environ.get(TENSORSTORE_URL_ENV)
  if url is None:
    if tensorstore_url:
      raise GcsConfigError(
          f"{TENSORSTORE_URL_ENV}={tensorstore_url} redirects orbax's checkpoints, but "
          f"{EMULATOR_ENV} is unset, so every other file would go to storage.googleapis.com: "
          f"set {EMULATOR_ENV}={tensorstore_url} as well (or unset {TENSORSTORE_URL_ENV})")
  else:
    if tensorstore_url and tensorstore_url.rstrip("/") != url:
      raise GcsConfigError(f"{EMULATOR_ENV}={url} but {TENSORSTORE_URL_ENV}={tensorstore_url}: "
                           "checkpoints and files would go to different servers")
    os.environ[TENSORSTORE_URL_ENV] = url
    os.environ.setdefault(TENSORSTORE_TOKEN_ENV, "emulator")
    os.environ.setdefault("NO_GCE_CHECK", "true")
    os.environ[_GCSFS_EXTENDED_ENV] = "false"
  gcs_paths = [p for p in paths if os.fspath(p).startswith("gs://")]
  if gcs_paths:
    try:      # after the environment above: gcsfs reads it at import
      import gcsfs  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
    except ImportError as e:
      raise GcsConfigError(f"{gcs_paths[0]} needs gcsfs (etils.epath's gs:// backend without "
                           f"TensorFlow): pip install gcsfs") from e
  if gcs_paths or url is not None:
    _configure_fsspec(anonymous=url is not None)
  return url


def _configure_fsspec(*, anonymous: bool) -> None:
  import fsspec  # pylint: disable=g-import-not-at-top
  for protocol in ("gs", "gcs"):
    options = fsspec.config.conf.setdefault(protocol, {})
    options.setdefault("use_listings_cache", False)
    if anonymous:
      options["token"] = "anon"
  if anonymous and "gcsfs" in sys.modules:
    # gcsfs picks its class at import: one imported before the environment above was set would
    # be the extended class, so register the core class explicitly.
    from gcsfs.core import GCSFileSystem  # pylint: disable=g-import-not-at-top
    for protocol in ("gs", "gcs"):
      fsspec.register_implementation(protocol, GCSFileSystem, clobber=True)


def probe_checkpoint_storage(directory: epath.PathLike, timeout_s: float = 60.0) -> None:
  """Writes and deletes one object through TensorStore's gcs driver, the path orbax saves by.

  The workdir's write probe goes through gcsfs; this one catches a TensorStore that cannot write
  (credentials, endpoint) before minutes of compute rather than at the first checkpoint.
  """
  path = os.fspath(directory)
  if not path.startswith("gs://"):
    return
  import tensorstore as ts  # pylint: disable=g-import-not-at-top
  bucket, _, prefix = path[len("gs://"):].partition("/")
  key = f"{prefix.rstrip('/')}/.tensorstore_probe_{uuid.uuid4().hex[:8]}".lstrip("/")
  context = ts.Context({"gcs_request_retries": {"max_retries": 2}})
  try:
    store = ts.KvStore.open({"driver": "gcs", "bucket": bucket}, context=context).result(
        timeout=timeout_s)
    store.write(key, b"ok").result(timeout=timeout_s)
    store.write(key, None).result(timeout=timeout_s)      # None deletes the key
  except (ValueError, TimeoutError) as e:
    raise GcsConfigError(f"TensorStore (orbax's checkpoint writer) cannot write {path}: {e}") from e
