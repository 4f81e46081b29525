"""Content Credentials: outputs signed with a C2PA manifest on the worker, verified with c2pa's own Reader."""
from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib

import c2pa
import pytest
from django.core.management import call_command
from PIL import Image

from catalog.demo_data import DEMO_PHOTO
from generation import modes
from generation.models import GenerationJob
from generation.tests.test_rerun_and_metadata import exiftool
from sdstudio import credentials

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
TINY = dict(num_inference_steps=2, width=64, height=64, seed=7)


def manifest_store(data: bytes) -> tuple[str, dict]:
    """(validation state, manifest store) as c2pa-python's Reader reports them."""
    with c2pa.Reader("image/png", io.BytesIO(data)) as reader:
        return reader.get_validation_state(), json.loads(reader.json())


def failure_codes(store: dict) -> set[str]:
    results = store.get("validation_results", {}).get("activeManifest", {})
    return {f["code"] for f in results.get("failure", [])}


def flip_pixel_byte(png: bytes) -> bytes:
    """The same file with one byte of its first IDAT chunk's data changed (its CRC fixed, so it is still a PNG)."""
    offset = 8
    while offset < len(png):
        length, kind = struct.unpack(">I4s", png[offset:offset + 8])
        if kind == b"IDAT":
            data = bytearray(png[offset + 8:offset + 8 + length])
            data[length // 2] ^= 0x01
            crc = struct.pack(">I", zlib.crc32(kind + bytes(data)))
            return png[:offset + 8] + bytes(data) + crc + png[offset + 12 + length:]
        offset += 12 + length
    raise AssertionError("no IDAT chunk")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_outputs_carry_valid_signed_manifests_for_every_mode(burst_worker, client, merchandiser, tmp_path, capsys):
    # given a text2img, an img2img and a scene job made on the command line, run by a real worker
    call_command("generate", mode="text2img", prompt="red mug on a wooden table", **TINY)
    call_command("generate", mode="img2img", image=DEMO_PHOTO, prompt="headphones on marble", strength=0.6, **TINY)
    call_command("generate", mode="scene", image=DEMO_PHOTO, prompt="headphones on marble", **TINY)
    burst_worker()
    jobs = {job.mode: job for job in GenerationJob.objects.select_related("source_photo")}
    expected = {"text2img": (["c2pa.created"], [TRAINED]),
                "img2img": (["c2pa.opened", "c2pa.edited"], [COMPOSITE]),
                "scene": (["c2pa.created", "c2pa.placed"], [TRAINED, COMPOSITE])}
    for mode, (actions, source_types) in expected.items():
        job = jobs[mode]
        assert job.status == "succeeded" and job.content_credentials == "development", job.error
        data = job.output.open("rb").read()
        # then c2pa's Reader validates structure, signature and hash binding; only the trust in the dev CA is missing
        state, store = manifest_store(data)
        assert state == "Valid" and failure_codes(store) <= {"signingCredential.untrusted"}, (mode, failure_codes(store))
        manifest = store["manifests"][store["active_manifest"]]
        assert manifest["claim_generator_info"][0]["name"] == "SD Studio"
        assert manifest["signature_info"]["common_name"] == "SD Studio development signer"
        recorded = [a for assertion in manifest["assertions"] if assertion["label"].startswith("c2pa.actions")
                    for a in assertion["data"]["actions"]]
        assert [a["action"] for a in recorded] == actions, mode
        assert [a["digitalSourceType"] for a in recorded if "digitalSourceType" in a] == source_types, mode
        assert recorded[-1]["parameters"]["seed"] == 7 and recorded[-1]["parameters"]["model"]
        # img2img and scene have the stored source photo as their ingredient (its hash is the stored file's);
        # text2img has none
        assert bool(job.source_photo_id) == (mode != "text2img"), mode
        assert len(manifest.get("ingredients", [])) == (0 if mode == "text2img" else 1), mode
        if mode != "text2img":
            ingredient = manifest["ingredients"][0]
            assert ingredient["relationship"] == ("parentOf" if mode == "img2img" else "componentOf")
            stored = job.source_photo.image.open("rb").read()
            assert ingredient["metadata"]["org.sdstudio.sha256"] == hashlib.sha256(stored).hexdigest()
        # the XMP and the parameters chunk stay, read by exiftool (independent of the writer)
        path = tmp_path / f"{mode}.png"
        path.write_bytes(data)
        assert exiftool(path)["DigitalSourceType"] == (TRAINED if mode == "text2img" else COMPOSITE)
        assert "Seed: 7" in Image.open(io.BytesIO(data)).text["parameters"]
    # and the job page shows the credentials, the download keeps them byte for byte
    client.force_login(merchandiser)
    page = client.get(jobs["img2img"].get_absolute_url()).content.decode()
    assert 'id="credentials-state">valid' in page and "a development certificate" in page and "c2pa.edited" in page
    assert 'id="credentials-ingredient"' in page
    download = b"".join(client.get(f"/jobs/{jobs['scene'].pk}/download/").streaming_content)
    assert download == jobs["scene"].output.open("rb").read()
    # and a re-run says where it comes from
    from generation import services

    rerun = services.job_rerun(job=jobs["text2img"], user=None)
    burst_worker()
    rerun.refresh_from_db()
    _, store = manifest_store(rerun.output.open("rb").read())
    labels = {a["label"]: a.get("data") for a in store["manifests"][store["active_manifest"]]["assertions"]}
    assert labels["org.sdstudio.rerun"]["job"] == jobs["text2img"].pk


@pytest.mark.django_db
def test_one_flipped_pixel_byte_is_a_hash_mismatch_and_the_verify_page_says_invalid(client, reviewer, tmp_path):
    from generation import pngmeta

    png = pngmeta.encode_png(Image.new("RGB", (64, 64), (90, 30, 30)), {"mode": "text2img", "prompt": "x", "seed": 1,
                                                                         "num_inference_steps": 2, "guidance_scale": 7.5,
                                                                         "scheduler": "euler_a", "width": 64, "height": 64})
    signed = credentials.sign_png(png, credentials.manifest_for(actions=modes.get("text2img").actions, params={"seed": 1}, model="m", title="t.png"),
                                  keys=credentials.development_keys())
    tampered = flip_pixel_byte(signed)
    Image.open(io.BytesIO(tampered)).load()  # still a decodable PNG: only the pixels changed
    state, store = manifest_store(tampered)
    assert state == "Invalid" and any("dataHash.mismatch" in code for code in failure_codes(store)), failure_codes(store)
    client.force_login(reviewer)
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = client.post("/verify/", {"image": SimpleUploadedFile("tampered.png", tampered, "image/png")}).content.decode()
    assert 'id="credentials-state">invalid' in page and "dataHash.mismatch" in page
    page = client.post("/verify/", {"image": SimpleUploadedFile("signed.png", signed, "image/png")}).content.decode()
    assert 'id="credentials-state">valid' in page and "SD Studio development signer" in page
    page = client.post("/verify/", {"image": SimpleUploadedFile("plain.png", png, "image/png")}).content.decode()
    assert 'id="credentials-state">unsigned' in page
    response = client.post("/verify/", {"image": SimpleUploadedFile("notes.txt", b"hello", "text/plain")})
    assert response.status_code == 400 and "not a PNG, JPEG or WebP" in response.content.decode()


@pytest.mark.django_db
def test_uploads_say_whether_they_declare_themselves_ai_generated(product):
    from catalog.services import photo_add
    from generation import pngmeta

    image = Image.new("RGB", (64, 64), (20, 120, 20))
    params = {"mode": "text2img", "prompt": "x", "seed": 1, "num_inference_steps": 2, "guidance_scale": 7.5,
              "scheduler": "euler_a", "width": 64, "height": 64}
    signed = credentials.sign_png(pngmeta.encode_png(image, params),
                                  credentials.manifest_for(actions=modes.get("text2img").actions, params=params, model="m", title="t.png"),
                                  keys=credentials.development_keys())
    photo, _ = photo_add(product=product, data=signed, name="generated.png")
    assert (photo.declared_source_type, photo.declared_by, photo.declares_ai) == (TRAINED, "c2pa", True)
    xmp_only = pngmeta.encode_png(Image.new("RGB", (64, 64), (20, 20, 120)), params)
    photo, _ = photo_add(product=product, data=xmp_only, name="claimed.png")
    assert (photo.declared_source_type, photo.declared_by) == (TRAINED, "xmp")
    photo, _ = photo_add(product=product, data=DEMO_PHOTO.read_bytes(), name="camera.png")
    assert (photo.declared_source_type, photo.declares_ai) == ("", False)


@pytest.mark.django_db
def test_production_without_keys_leaves_outputs_unsigned_and_says_so(settings, tmp_path):
    from generation.execution import sign_output
    from generation.models import GenerationJob

    settings.DEBUG = False
    job = GenerationJob(pk=1, mode="text2img", prompt="x", seed=1)
    png = b"\x89PNG not signed"
    assert sign_output(job, png, {}, {}) == (png, "")
    settings.SDSTUDIO_C2PA_CERT = str(tmp_path / "missing.pem")
    with pytest.raises(credentials.SigningFailed):
        credentials.signing_keys()  # half a configuration is an error, not "unsigned"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_signing_failure_fails_the_job_with_its_reason_and_stores_nothing(burst_worker, tmp_path, capsys):
    (tmp_path / "chain.pem").write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    (tmp_path / "key.pem").write_text("not a key")
    call_command("generate", prompt="blue bottle", **TINY)
    burst_worker(SDSTUDIO_C2PA_CERT=str(tmp_path / "chain.pem"), SDSTUDIO_C2PA_KEY=str(tmp_path / "key.pem"))
    job = GenerationJob.objects.get()
    assert job.status == "failed" and "Content Credentials" in job.error and not job.output
    assert job.content_credentials == ""


def test_the_development_certificate_follows_the_c2pa_profile(tmp_path):
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    call_command("c2pa_dev_cert", out=tmp_path)
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    leaf = x509.load_pem_x509_certificates((tmp_path / "signer-chain.pem").read_bytes())[0]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert leaf.issuer == ca.subject
    assert (tmp_path / "signer.key").stat().st_mode & 0o077 == 0  # the key is private to its owner


def test_a_signing_service_callback_signs_without_the_key_in_sd_studio(settings):
    from generation import pngmeta
    from generation.tests import signing_service

    _, chain, _ = credentials.make_dev_cert()
    settings.SDSTUDIO_C2PA_SIGNER = "generation.tests.signing_service.sign"
    settings.SDSTUDIO_C2PA_CERT = str(chain)
    keys = credentials.signing_keys()
    assert keys.key_pem is None and not keys.development
    png = pngmeta.encode_png(Image.new("RGB", (64, 64)), {"mode": "text2img", "prompt": "x", "seed": 1, "num_inference_steps": 2,
                                                          "guidance_scale": 7.5, "scheduler": "euler_a", "width": 64, "height": 64})
    signed = credentials.sign_png(png, credentials.manifest_for(actions=modes.get("text2img").actions, params={}, model="m", title="t.png"), keys=keys)
    assert signing_service.calls and credentials.read(signed).state == "valid"
