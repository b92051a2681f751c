"""The Pillow side of scripts/bench-extract: for every file under a folder, open it, read its size and EXIF.

Prints one JSON line per file, like `s3shift extract`, so the work compared is the same: format, size, EXIF.
"""
import json
import os
import sys

from PIL import Image

try:  # HEIF/AVIF through pillow-heif when it is installed, as a fair user would.
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:
    pass


def main(root: str) -> None:
    out = sys.stdout
    for folder, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            path = os.path.join(folder, name)
            row = {"path": path}
            try:
                with Image.open(path) as im:
                    row["format"] = im.format
                    row["width"], row["height"] = im.size
                    exif = im.getexif()
                    row["make"] = exif.get(0x010F)
                    row["model"] = exif.get(0x0110)
                    row["orientation"] = exif.get(0x0112)
            except Exception as e:  # noqa: BLE001 - a bad file is a row, as in s3shift
                row["error"] = str(e)
            out.write(json.dumps(row, default=str) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
