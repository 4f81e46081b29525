"""A fourth mode added from one file (generation/tests/mirrormode.py), run end to end: the form and the API
validate it, a real worker (which imports it through SDSTUDIO_EXTRA_MODES) calls its pipeline, the PNG carries
its parameters and IPTC source type, the signed manifest its actions. Nothing else in the tree knows it."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image, ImageOps

from api.tests.test_api import client_for
from generation import fidelity, modes
from generation.models import GenerationJob
from generation.tests.test_credentials import failure_codes, manifest_store
from generation.tests.test_rerun_and_metadata import exiftool
from generation.tests.test_views import FORM

COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
EXTRA = "generation.tests.mirrormode"


@pytest.fixture
def mirror_mode():
    from generation.tests import mirrormode

    modes.register(mirrormode.Mirror)  # importing registered it once; a test that ran before may have removed it
    yield modes.get("mirror")
    modes.unregister("mirror")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_mode_from_one_file_runs_end_to_end_on_a_real_worker(mirror_mode, client, merchandiser, photo, burst_worker, tmp_path):
    client.force_login(merchandiser)
    # the job form offers it, shows Strength and Source photo for it, and validates what it needs
    page = client.get(reverse("generation:job_create")).content.decode()
    assert 'value="mirror"' in page and "Mirrored restyle" in page
    form = {**FORM, "mode": "mirror", "product": photo.product.sku, "source_photo": str(photo.pk),
            "num_inference_steps": "4", "width": "64", "height": "64"}
    refused = client.post(reverse("generation:job_create"), form)  # no strength
    assert refused.status_code == 400 and "Mirrored restyle needs strength" in refused.content.decode()
    assert client.post(reverse("generation:job_create"), {**form, "strength": "0.6", "source_photo": ""}).status_code == 400
    made = client.post(reverse("generation:job_create"), {**form, "strength": "0.25"})
    assert made.status_code == 302, made.content.decode()[:2000]
    # the API refuses what the mode does not take, and takes what it does
    api, _ = client_for(merchandiser)
    body = {"mode": "mirror", "prompt": "headphones, mirrored", "source_photo": photo.pk, "product": photo.product.sku,
            "seed": 5, "num_inference_steps": 4, "width": 64, "height": 64, "strength": 0.25}
    wrong = api.post("/api/jobs/", {**body, "product_scale": 0.5}, format="json")
    assert wrong.status_code == 400 and "product_scale" in wrong.json(), wrong.json()
    assert api.post("/api/jobs/", {**body, "strength": 1.5}, format="json").status_code == 400
    created = api.post("/api/jobs/", body, format="json")
    assert created.status_code == 201, created.json()
    # when a real worker process, started with the mode's module, drains the queue
    log = burst_worker(SDSTUDIO_EXTRA_MODES=EXTRA)
    jobs = list(GenerationJob.objects.filter(mode="mirror").select_related("source_photo"))
    assert len(jobs) == 2
    photo_image = Image.open(photo.image.path).convert("RGB")
    for job in jobs:
        assert job.status == "succeeded", (job.error, log)
        data = job.output.open("rb").read()
        output = Image.open(io.BytesIO(data))
        # the pipeline was called with the mode's own input: the output is nearer the mirrored photo than the photo
        source = ImageOps.fit(photo_image, (64, 64), method=Image.Resampling.LANCZOS)
        mirrored_ssim, plain_ssim = fidelity.fidelity(ImageOps.mirror(source), output)[0], fidelity.fidelity(source, output)[0]
        assert mirrored_ssim > plain_ssim, (mirrored_ssim, plain_ssim)
        assert job.fidelity_ssim == mirrored_ssim  # the mode's measure, stored on the job
        # the PNG carries the parameters it used (strength) and not those it does not (the scene's)
        parameters = output.text["parameters"]
        assert "Denoising strength: 0.25" in parameters and "Steps: 4" in parameters
        recorded = json.loads(output.text["sdstudio"])["parameters"]
        assert recorded == job.parameters() and recorded["strength"] == 0.25 and "product_scale" not in recorded
        assert recorded["source_photo_sha256"] == photo.sha256
        path = tmp_path / f"mirror{job.pk}.png"
        path.write_bytes(data)
        assert exiftool(path)["DigitalSourceType"] == COMPOSITE
        # the signed manifest has the mode's own actions, with the photo as its parentOf ingredient
        state, store = manifest_store(data)
        assert state == "Valid" and failure_codes(store) <= {"signingCredential.untrusted"}, failure_codes(store)
        manifest = store["manifests"][store["active_manifest"]]
        actions = [a for assertion in manifest["assertions"] if assertion["label"].startswith("c2pa.actions")
                   for a in assertion["data"]["actions"]]
        assert [a["action"] for a in actions] == ["c2pa.opened", "c2pa.orientation", "c2pa.edited"]
        assert actions[-1]["parameters"]["strength"] == 0.25
        assert [i["relationship"] for i in manifest["ingredients"]] == ["parentOf"]
    # and its page compares the output with the mode's own reference (the mirrored photo)
    page = client.get(jobs[0].get_absolute_url())
    assert page.status_code == 200 and "Mirrored restyle" in page.content.decode()
    reference = client.get(reverse("generation:job_reference", args=[jobs[0].pk, "source"]))
    assert reference.status_code == 200
    shown = np.asarray(Image.open(io.BytesIO(b"".join(reference.streaming_content) if reference.streaming else reference.content)).convert("RGB"))
    assert np.array_equal(shown, np.asarray(ImageOps.mirror(source)))
