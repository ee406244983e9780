"""Content-addressed blob storage: immutable bytes named by their blake3 digest.

    store = open_blobs(".mloop/blobs")             # or "s3://bucket/prefix"
    digest = store.put_file("model.pkl")           # stored once, whoever stores it
    store.get_file(digest, "copy.pkl")             # verified on read
    tree = store.put_tree("data/")                 # a folder, as a manifest blob
    store.checkout_tree(tree, "restored/")

Objects live at ``root/ab/cdef...`` on a local folder or any fsspec filesystem.
"""

from mloop.blobs.backends import Backend, ObjectInfo
from mloop.blobs.backends.local import LocalBackend
from mloop.blobs.digest import Digest, hash_bytes, hash_file
from mloop.blobs.gc import GcReport, collect_garbage
from mloop.blobs.manifest import Manifest, ManifestEntry
from mloop.blobs.store import BlobInfo, BlobStore, open_blobs

__all__ = [
    "Backend",
    "BlobInfo",
    "BlobStore",
    "Digest",
    "GcReport",
    "LocalBackend",
    "Manifest",
    "ManifestEntry",
    "ObjectInfo",
    "collect_garbage",
    "hash_bytes",
    "hash_file",
    "open_blobs",
]
