"""gcp-storage-emulator, plus the generation headers real GCS sends with object downloads.

  python tests/pipeline/gcs_emulator.py start --host=127.0.0.1 --port=PORT --in-memory ...

Real GCS answers a media download with `x-goog-generation` (and `x-goog-metageneration`); the
emulator omits them. TensorStore reads a file's generation from that header and conditions its
next write of the file on it (OCDBT, orbax's checkpoint format, rewrites its manifest this way):
without the header the generation reads as 0 and the conditional write fails with "Malformed
StorageGeneration". Everything else is the emulator unchanged; arguments are its CLI's.
"""

import sys
from http import HTTPStatus

from gcp_storage_emulator import server
from gcp_storage_emulator.__main__ import main
from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects

_download = objects.download


def download_with_generation(request, response, storage, *args, **kwargs):
  _download(request, response, storage, *args, **kwargs)
  if response.status in (HTTPStatus.OK, HTTPStatus.PARTIAL_CONTENT):
    try:
      obj = storage.get_file_obj(request.params["bucket_name"], request.params["object_id"])
    except NotFound:
      return
    response["x-goog-generation"] = str(obj["generation"])
    response["x-goog-metageneration"] = str(obj["metageneration"])


objects.download = download_with_generation            # objects.get(alt=media) calls it
for _, methods in server.HANDLERS:
  for method, handler in methods.items():
    if handler is _download:
      methods[method] = download_with_generation

if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
