"""Files of the genesis: the measures, the final field and a picture of every stage.

Everything goes through :mod:`tikkun.outputs.atomic` (a reader sees the old file or the new
one, never half). Pictures use a tiny PNG writer (zlib + struct) and a diverging colour
map: blue for reception (``phi = -1``), white for the melted, mutual quality (0), red for
bestowal (+1).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tikkun.outputs.atomic import write_bytes, write_with

__all__ = ["png_bytes", "diverging_rgb", "write_png", "write_genesis_outputs"]

_BLUE = np.array([33.0, 102.0, 172.0])   # phi = -1
_WHITE = np.array([255.0, 255.0, 255.0])  # phi = 0
_RED = np.array([178.0, 24.0, 43.0])     # phi = +1


def diverging_rgb(phi: np.ndarray) -> np.ndarray:
    """Map ``phi`` (h, w) to uint8 RGB (h, w, 3): blue -1, white 0, red +1 (clipped)."""
    v = np.clip(np.nan_to_num(np.asarray(phi, dtype=np.float64)), -1.0, 1.0)[..., None]
    neg = _WHITE + (-v) * (_BLUE - _WHITE)
    pos = _WHITE + v * (_RED - _WHITE)
    rgb = np.where(v < 0.0, neg, pos)
    return np.rint(rgb).astype(np.uint8)


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode uint8 RGB (h, w, 3) as a PNG (8-bit truecolour, no filtering)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must have shape (h, w, 3), got {rgb.shape}")
    h, w, _ = rgb.shape
    raw = np.concatenate([np.zeros((h, 1), dtype=np.uint8), rgb.reshape(h, w * 3)], axis=1)  # filter 0 per row
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
            + _chunk(b"IEND", b""))


def write_png(target, phi: np.ndarray, scale: int = 1) -> None:
    """Atomically write the field ``phi`` (n, n) as a PNG, row 0 at the top, each cell
    ``scale x scale`` pixels."""
    rgb = diverging_rgb(phi)
    if scale > 1:
        rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    write_bytes(target, png_bytes(rgb))


def write_genesis_outputs(result, out_dir) -> list[Path]:
    """Write ``genesis.parquet`` (columns time, stage, light, free_energy, unity, mixing,
    mass), ``field.npy`` (final phi, float64 (n, n)) and ``genesis_<index>_<stage>.png`` for
    every stage end (index from 0 in script order) into ``out_dir``. Returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rec = result.records
    table = pa.table({
        "time": pa.array(np.asarray(rec["time"], dtype=np.float64)),
        "stage": pa.array([str(s) for s in rec["stage"]], type=pa.string()),
        "light": pa.array(np.asarray(rec["light"], dtype=np.float64)),
        "free_energy": pa.array(np.asarray(rec["free_energy"], dtype=np.float64)),
        "unity": pa.array(np.asarray(rec["unity"], dtype=np.float64)),
        "mixing": pa.array(np.asarray(rec["mixing"], dtype=np.float64)),
        "mass": pa.array(np.asarray(rec["mass"], dtype=np.float64)),
    })
    paths = [out / "genesis.parquet", out / "field.npy"]
    write_with(paths[0], lambda p: pq.write_table(table, p))

    def _save(p: Path) -> None:
        # A file handle: np.save on a path would append ".npy" to the temporary name.
        with open(p, "wb") as fh:
            np.save(fh, np.asarray(result.field, dtype=np.float64))

    write_with(paths[1], _save)
    for i, (kind, phi) in enumerate(result.stage_fields):
        p = out / f"genesis_{i}_{kind}.png"
        write_png(p, phi)
        paths.append(p)
    return paths
