"""The S3 stand-in as the fsspec world sees it: s3fs, and pyarrow datasets written and read through it.

Usage: s3_fsspec.py ENDPOINT_URL (credentials and region from the environment). Prints one line per check and
"N passed, 0 failed" at the end; exits 1 on the first failure with what differed.
"""
import sys

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import s3fs

from checks import check, done

def main(endpoint):
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint, "region_name": "us-east-1"},
                           config_kwargs={"s3": {"addressing_style": "path"}})
    fs.mkdir("fsspec")
    fs.pipe("fsspec/raw/2026/a.txt", b"hello")
    fs.pipe("fsspec/raw/2026/b c.txt", b"world")
    fs.pipe("fsspec/top.txt", b"!")
    check("find lists every key (s3fs lists with Delimiter='')",
          fs.find("fsspec") == ["fsspec/raw/2026/a.txt", "fsspec/raw/2026/b c.txt", "fsspec/top.txt"],
          fs.find("fsspec"))
    check("ls shows files and folders", sorted(fs.ls("fsspec")) == ["fsspec/raw", "fsspec/top.txt"], fs.ls("fsspec"))
    check("cat reads a key with a space", fs.cat("fsspec/raw/2026/b c.txt") == b"world")
    check("info of a folder", fs.info("fsspec/raw")["type"] == "directory", fs.info("fsspec/raw"))
    check("glob", fs.glob("fsspec/raw/*/*.txt") == ["fsspec/raw/2026/a.txt", "fsspec/raw/2026/b c.txt"],
          fs.glob("fsspec/raw/*/*.txt"))

    table = pa.table({
        "source": ["api", "api", "kafka"],
        "object_key": ["a.jpg", "b.jpg", "c.jpg"],
        "size_bytes": pa.array([10, 20, 30], pa.int64()),
    })
    handler = pafs.PyFileSystem(pafs.FSSpecHandler(fs))
    ds.write_dataset(table, "fsspec/images", format="parquet", filesystem=handler,
                     partitioning=["source"], partitioning_flavor="hive")
    written = sorted(fs.find("fsspec/images"))
    check("pyarrow writes a partitioned dataset", len(written) == 2 and all(k.endswith(".parquet") for k in written),
          written)
    back = ds.dataset("fsspec/images", filesystem=handler, format="parquet", partitioning="hive").to_table()
    check("and reads it back, every row",
          sorted(back.column("object_key").to_pylist()) == ["a.jpg", "b.jpg", "c.jpg"]
          and sorted(back.column("source").to_pylist()) == ["api", "api", "kafka"], back)
    fs.rm("fsspec/images", recursive=True)
    check("recursive delete leaves nothing", fs.find("fsspec/images") == [], fs.find("fsspec/images"))
    done()


if __name__ == "__main__":
    main(sys.argv[1])
