"""Seeds for the `metadata` fuzz target: the metadata blocks of the fixtures, cut out of their containers.

    python3 scripts/fuzz-support/metadata_seeds.py OUT_DIR FIXTURE_DIR...

Each seed is one selector byte (the target's `Part::from_byte`) followed by the block as a container parser
would hand it over: XMP packets (JPEG APP1, PNG iTXt), JPEG extended XMP, Photoshop resource blocks (JPEG APP13,
with their IIM and digest), IIM blocks, ICC profiles (JPEG APP2, first chunk), C2PA stores (JPEG APP11 payload,
PNG caBX). Standard library only: it runs before any virtual environment exists.
"""

import hashlib
import struct
import sys
import zlib
from pathlib import Path

XMP, EXTENDED_XMP, IPTC, PHOTOSHOP, ICC, C2PA = 0, 1, 2, 3, 4, 5
XMP_SIG = b"http://ns.adobe.com/xap/1.0/\0"
EXT_SIG = b"http://ns.adobe.com/xmp/extension/\0"


def jpeg_segments(data: bytes):
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker in (0xD9, 0xDA):
            return
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        yield marker, data[at + 4:at + 2 + length]
        at += 2 + length


def png_chunks(data: bytes):
    at = 8
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind = data[at + 4:at + 8]
        yield kind, data[at + 8:at + 8 + length]
        at += 12 + length


def iim_of(resources: bytes) -> bytes | None:
    at = 0
    while resources[at:at + 4] == b"8BIM" and at + 8 <= len(resources):
        rid = struct.unpack(">H", resources[at + 4:at + 6])[0]
        name_total = (1 + resources[at + 6] + 1) & ~1
        size_at = at + 6 + name_total
        (size,) = struct.unpack(">I", resources[size_at:size_at + 4])
        data = resources[size_at + 4:size_at + 4 + size]
        if rid == 0x0404:
            return data
        at = size_at + 4 + size + (size & 1)
    return None


def blocks(path: Path):
    data = path.read_bytes()
    if data.startswith(b"\xff\xd8"):
        for marker, body in jpeg_segments(data):
            if marker == 0xE1 and body.startswith(XMP_SIG):
                yield XMP, body[len(XMP_SIG):]
            elif marker == 0xE1 and body.startswith(EXT_SIG):
                yield EXTENDED_XMP, b"<x/>\0" + body[len(EXT_SIG):]
            elif marker == 0xED and body.startswith(b"Photoshop 3.0\0"):
                resources = body[14:]
                yield PHOTOSHOP, resources
                iim = iim_of(resources)
                if iim:
                    yield IPTC, iim
            elif marker == 0xE2 and body.startswith(b"ICC_PROFILE\0"):
                yield ICC, body[14:]
            elif marker == 0xEB and body.startswith(b"JP"):
                yield C2PA, body[8:]
    elif data.startswith(b"\x89PNG"):
        for kind, body in png_chunks(data):
            if kind == b"iTXt" and body.startswith(b"XML:com.adobe.xmp\0"):
                rest = body[len(b"XML:com.adobe.xmp\0"):]
                compressed, text = rest[0], rest[2:].split(b"\0", 2)[-1]
                yield XMP, zlib.decompress(text) if compressed else text
            elif kind == b"iCCP":
                name_end = body.index(b"\0")
                yield ICC, zlib.decompress(body[name_end + 2:])
            elif kind == b"caBX":
                yield C2PA, body


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for root in sys.argv[2:]:
        for path in sorted(Path(root).rglob("*")):
            if not path.is_file() or path.suffix in (".tsv", ".json"):
                continue
            try:
                found = list(blocks(path))
            except (ValueError, IndexError, struct.error, zlib.error):
                continue  # broken fixtures: the extract target has them whole
            for part, block in found:
                if len(block) > 64 * 1024:
                    continue
                seed = bytes([part]) + block
                name = out / hashlib.sha1(seed).hexdigest()
                if not name.exists():
                    name.write_bytes(seed)
                    written += 1
    print(f"metadata seeds: {written} new in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
