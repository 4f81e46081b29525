"""Media on S3-compatible storage (django-storages): a worker writes the output, the web app reads and links it.

The S3 endpoint is moto's server, a real HTTP S3 implementation on 127.0.0.1.
"""
from __future__ import annotations

import io
import socket
import subprocess
import sys
import time

import pytest
from PIL import Image

from conftest import run_worker_burst
from generation.models import Status
from generation.tests.factories import queue_job
from sdstudio.localredis import free_port

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sdstudio-test", "AWS_SECRET_ACCESS_KEY": "sdstudio-test-secret", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture
def s3_endpoint(monkeypatch):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert time.monotonic() < deadline and server.poll() is None, "S3 server did not start"
        time.sleep(0.1)
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def test_outputs_go_to_the_bucket_and_pages_link_signed_urls(s3_endpoint, redis_conn, settings, client, reviewer):
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="sdstudio-media")
    # given a job, and a worker whose media storage is the bucket
    job = queue_job(seed=5)
    run_worker_burst(SDSTUDIO_S3_BUCKET="sdstudio-media", SDSTUDIO_S3_ENDPOINT_URL=s3_endpoint, **CREDENTIALS)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error
    # then the PNG, with its metadata, is an object in the bucket, and nothing went to local media
    data = s3.get_object(Bucket="sdstudio-media", Key=job.output.name)["Body"].read()
    assert "Seed: 5" in Image.open(io.BytesIO(data)).text["parameters"]
    assert s3.head_object(Bucket="sdstudio-media", Key=job.thumbnail.name)["ContentLength"] > 0
    # and the web app, configured the same way, links the object with a signed URL
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": "sdstudio-media", "endpoint_url": s3_endpoint, "querystring_auth": True}}}
    job.refresh_from_db()
    client.force_login(reviewer)
    page = client.get(job.get_absolute_url()).content.decode()
    assert f"{s3_endpoint}/sdstudio-media/{job.output.name}?" in page and "Signature=" in page
    download = client.get(f"/jobs/{job.pk}/download/")
    assert b"".join(download.streaming_content) == data
