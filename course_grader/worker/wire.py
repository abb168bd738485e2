"""The wire format between the grader and a sandbox: JSON plus raw tensor bytes, never
pickles.

A message is one frame::

    4 bytes  big-endian length H of the header
    H bytes  UTF-8 JSON header (the value tree)
    8 bytes  big-endian length P of the payload
    P bytes  tensor data, referred to by offset from the header

Values are encoded as a tree: JSON numbers, strings, booleans and ``null`` as
themselves, and objects tagged by one key: ``{"$tuple": [...]}``, ``{"$list": [...]}``,
``{"$dict": {...}}`` (string keys),
``{"$tensor": {"dtype", "shape", "offset", "nbytes", "grad"}}``,
``{"$generator": <uint8 tensor>}`` (a ``torch.Generator``'s state) and
``{"$object": "TypeName"}`` for anything else (the value stays behind; its type name
travels). Decoding validates every size, dtype and offset, so a malformed or hostile
frame is a :class:`WireError`, never code execution.

Both sides import this module: the sandbox only with the standard library and torch.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
from typing import Any, BinaryIO

import torch

MAX_HEADER = 8 * 1024 * 1024
MAX_PAYLOAD = 256 * 1024 * 1024
MAX_DEPTH = 20
DTYPES: dict[str, torch.dtype] = {
    "float64": torch.float64,
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int64": torch.int64,
    "int32": torch.int32,
    "int16": torch.int16,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
NAMES = {dtype: name for name, dtype in DTYPES.items()}
_TYPE_NAME = re.compile(r"[^A-Za-z0-9_]")


class WireError(ValueError):
    """A frame that does not follow the format (too large, truncated, wrong types or
    sizes)."""


class Opaque:
    """A value that could not travel (a module, an array, a function): only its type
    name did.

    Subclasses are named after the original type, so ``type(value).__name__`` reads as
    it would have next to the student's code (``"ndarray"``, ``"Sequential"``).
    """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object left in the sandbox>"


def _opaque(name: str) -> Opaque:
    clean = _TYPE_NAME.sub("_", str(name))[:60] or "object"
    if clean[0].isdigit():
        clean = "_" + clean
    return type(clean, (Opaque,), {})()


class _Encoder:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def tensor(self, value: torch.Tensor) -> dict[str, Any]:
        plain = (
            torch.Tensor.as_subclass(value, torch.Tensor).detach().cpu().contiguous()
        )
        if plain.dtype not in NAMES:
            plain = (
                plain.to(torch.float64)
                if plain.is_floating_point() or plain.is_complex()
                else plain.long()
            )
        data = (
            plain.reshape(-1).view(torch.uint8).numpy().tobytes()
            if plain.numel()
            else b""
        )
        record = {
            "dtype": NAMES[plain.dtype],
            "shape": list(plain.shape),
            "offset": self.size,
            "nbytes": len(data),
            "grad": bool(value.requires_grad),
        }
        self.chunks.append(data)
        self.size += len(data)
        return {"$tensor": record}

    def value(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            return {"$object": "nested too deeply"}
        if value is None or type(value) in (bool, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            # a subclass (numpy's scalars are not; float64 is a float) becomes plain
            number = int(value)
            return number if abs(number) < 2**63 else {"$object": "int (too large)"}
        if isinstance(value, float):
            real = float(value)
            return real if math.isfinite(real) else {"$float": repr(real)}
        if isinstance(value, torch.Tensor):
            return self.tensor(value)
        if isinstance(value, torch.Generator):
            return {"$generator": self.tensor(value.get_state())}
        if type(value) in (tuple, list):
            tag = "$tuple" if type(value) is tuple else "$list"
            return {tag: [self.value(v, depth + 1) for v in value]}
        if type(value) is dict and all(type(k) is str for k in value):
            return {"$dict": {k: self.value(v, depth + 1) for k, v in value.items()}}
        return {"$object": type(value).__name__}


def encode(value: Any) -> bytes:
    """One frame holding ``value`` (anything; what cannot travel becomes
    ``{"$object": name}``)."""
    encoder = _Encoder()
    header = json.dumps(encoder.value(value), allow_nan=False).encode("utf-8")
    return b"".join(
        [
            struct.pack(">I", len(header)),
            header,
            struct.pack(">Q", encoder.size),
            *encoder.chunks,
        ]
    )


class _Decoder:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def tensor(self, record: Any) -> torch.Tensor:
        if not isinstance(record, dict) or record.get("dtype") not in DTYPES:
            raise WireError("a tensor record without a known dtype")
        shape, offset, nbytes = (
            record.get("shape"),
            record.get("offset"),
            record.get("nbytes"),
        )
        if not (
            isinstance(shape, list)
            and len(shape) <= 8
            and all(type(s) is int and 0 <= s for s in shape)
        ):
            raise WireError("a tensor record with a bad shape")
        dtype = DTYPES[record["dtype"]]
        count = math.prod(shape)
        if (
            type(offset) is not int
            or type(nbytes) is not int
            or offset < 0
            or nbytes != count * dtype.itemsize
            or offset + nbytes > len(self.payload)
        ):
            raise WireError(
                "a tensor record whose size does not match its shape or the payload"
            )
        if count == 0:
            return torch.zeros(shape, dtype=dtype)
        raw = bytearray(self.payload[offset : offset + nbytes])
        out = (
            torch.frombuffer(raw, dtype=torch.uint8).view(dtype).reshape(shape).clone()
        )
        if record.get("grad") is True and out.is_floating_point():
            out.requires_grad_(True)
        return out

    def value(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("values nested too deeply")
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is not dict or len(node) != 1:
            raise WireError("an untagged JSON object or array")
        ((tag, body),) = node.items()
        if tag in ("$tuple", "$list"):
            if type(body) is not list:
                raise WireError(f"{tag} without a list")
            items = [self.value(v, depth + 1) for v in body]
            return tuple(items) if tag == "$tuple" else items
        if tag == "$dict":
            if type(body) is not dict:
                raise WireError("$dict without an object")
            return {str(k): self.value(v, depth + 1) for k, v in body.items()}
        if tag == "$tensor":
            return self.tensor(body)
        if tag == "$float" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "$generator":
            state = self.value(body, depth + 1)
            if (
                not isinstance(state, torch.Tensor)
                or state.dtype != torch.uint8
                or state.dim() != 1
            ):
                raise WireError("a generator state that is not a uint8 vector")
            generator = torch.Generator()
            try:
                generator.set_state(state)
            except RuntimeError as error:
                raise WireError(
                    f"a generator state that torch rejects ({error})"
                ) from None
            return generator
        if tag == "$object":
            return _opaque(body if isinstance(body, str) else "object")
        raise WireError(f"unknown tag {str(tag)[:40]!r}")


def decode(header: bytes, payload: bytes) -> Any:
    """The value of a frame's ``header`` and ``payload`` (see the module docstring)."""
    try:
        tree = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise WireError(f"the header is not JSON ({type(error).__name__})") from None
    return _Decoder(payload).value(tree)


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    parts, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed the channel")
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def read_frame(stream: BinaryIO) -> Any:
    """Read and decode one frame from a blocking binary stream (the sandbox side)."""
    (h,) = struct.unpack(">I", _read_exactly(stream, 4))
    if h > MAX_HEADER:
        raise WireError(f"a header of {h} bytes (the limit is {MAX_HEADER})")
    header = _read_exactly(stream, h)
    (p,) = struct.unpack(">Q", _read_exactly(stream, 8))
    if p > MAX_PAYLOAD:
        raise WireError(f"a payload of {p} bytes (the limit is {MAX_PAYLOAD})")
    return decode(header, _read_exactly(stream, p))


def write_frame(fd: int, value: Any) -> None:
    """Encode ``value`` and write the whole frame to the file descriptor ``fd``."""
    data = memoryview(encode(value))
    while data:
        written = os.write(fd, data)
        data = data[written:]
