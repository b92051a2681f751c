"""COPY from Parquet files that an outside writer made: pyarrow, as pandas, Spark-free pipelines and dlt write them.

Usage: copy_pyarrow.py S3_ENDPOINT_URL DATA_API_ENDPOINT_URL (credentials and region from the environment). Writes
one small file per codec with pyarrow, puts each in S3 with boto3, COPYs it through the Data API with boto3, and
checks that the codecs AWS documents for Parquet (SNAPPY, pyarrow's default, and ZSTD) load while the others are
refused with an error that names the codec. Prints one line per check and "N passed, 0 failed" at the end; exits
1 on the first failure with what differed.
"""
import io
import sys

import boto3
import pyarrow as pa
import pyarrow.parquet as pq

from checks import check, done, wait

def run(rd, sql):
    out = rd.execute_statement(WorkgroupName="local", Database="dev", Sql=sql)
    return wait(rd, out["Id"])


def parquet(table, **options):
    buf = io.BytesIO()
    pq.write_table(table, buf, **options)
    return buf.getvalue()


def main(s3_endpoint, data_api_endpoint):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    rd = boto3.client("redshift-data", endpoint_url=data_api_endpoint)
    s3.create_bucket(Bucket="pyarrow")
    # pyarrow's own types for a pandas-like frame: string, int32, int64, double, bool and a timestamp without
    # zone in microseconds (what Redshift documents for TIMESTAMP).
    table = pa.table({
        "name": pa.array(["a.jpg", "b.jpg"], pa.string()),
        "width": pa.array([640, None], pa.int32()),
        "size": pa.array([1000, 2000], pa.int64()),
        "lat": pa.array([48.85, None], pa.float64()),
        "animated": pa.array([False, True], pa.bool_()),
        "seen": pa.array([1_767_225_600_000_000, None], pa.timestamp("us")),
    })
    d = run(rd, "CREATE TABLE pyarrow_images (name VARCHAR(16), width INTEGER, size BIGINT, "
                "lat DOUBLE PRECISION, animated BOOLEAN, seen TIMESTAMP)")
    check("table", d["Status"] == "FINISHED", d)

    loaded = 0
    for codec, documented in [("snappy", True), ("zstd", True), ("gzip", False), ("brotli", False),
                              ("lz4", False), ("none", False)]:
        key = f"files/{codec}.parquet"
        s3.put_object(Bucket="pyarrow", Key=key, Body=parquet(table, compression=codec))
        d = run(rd, f"COPY pyarrow_images FROM 's3://pyarrow/{key}' IAM_ROLE default FORMAT AS PARQUET")
        if documented:
            loaded += 2
            check(f"{codec}: loads", d["Status"] == "FINISHED" and d["ResultRows"] == 2, d)
        else:
            name = "UNCOMPRESSED" if codec == "none" else codec.upper()
            check(f"{codec}: refused, naming the codec",
                  d["Status"] == "FAILED" and f"compressed with {name}" in d.get("Error", ""), d)

    # pyarrow's default write (SNAPPY, format version 2.6, version 1 data pages) loads.
    s3.put_object(Bucket="pyarrow", Key="files/default.parquet", Body=parquet(table))
    d = run(rd, "COPY pyarrow_images FROM 's3://pyarrow/files/default.parquet' IAM_ROLE default FORMAT AS PARQUET")
    loaded += 2
    check("pyarrow's defaults load", d["Status"] == "FINISHED" and d["ResultRows"] == 2, d)

    # Version 2 data pages are not the "Apache Parquet v1 data file format" AWS documents.
    s3.put_object(Bucket="pyarrow", Key="files/v2.parquet", Body=parquet(table, data_page_version="2.0"))
    d = run(rd, "COPY pyarrow_images FROM 's3://pyarrow/files/v2.parquet' IAM_ROLE default FORMAT AS PARQUET")
    check("version 2 data pages are refused", d["Status"] == "FAILED" and "version 2 data pages" in d["Error"], d)

    # A timestamp with a zone (isAdjustedToUTC) is not a documented pair for TIMESTAMP.
    zoned = table.set_column(5, "seen", pa.array([1, None], pa.timestamp("us", tz="UTC")))
    s3.put_object(Bucket="pyarrow", Key="files/zoned.parquet", Body=parquet(zoned))
    d = run(rd, "COPY pyarrow_images FROM 's3://pyarrow/files/zoned.parquet' IAM_ROLE default FORMAT AS PARQUET")
    check("a zoned timestamp into TIMESTAMP is an incompatible schema",
          d["Status"] == "FAILED" and "incompatible Parquet schema for column 'seen'" in d["Error"], d)

    d = run(rd, "SELECT count(*), count(width) FROM pyarrow_images")
    rows = boto3.client("redshift-data", endpoint_url=data_api_endpoint).get_statement_result(Id=d["Id"])["Records"]
    check("every loaded row is there, values intact",
          rows[0][0]["longValue"] == loaded and rows[0][1]["longValue"] == loaded // 2, rows)
    done()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
