"""Every page in French, as each role: no English sentence or label of SD Studio's own is left on it.

Two checks on the text a person reads (text nodes, button values, titles, placeholders, alt and aria labels):
none of it is an English message of the catalogue whose French differs, and none of it reads as English
(a phrase with English words that French does not use), apart from what users typed (product names, prompts).
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from conftest import finished_job
from sdstudio.tests.test_catalogue import LOCALE, read_po

FRENCH = "fr-FR,fr;q=0.9"

# Words English sentences and labels are made of and French never uses on its own.
ENGLISH = frozenset("""
the and of to is are with for this that your you from by or its be has have was were when which what who there here
only each every not it an at as than then into will can may must been these those they their them our we
product products review reviews approve approved reject rejected shop save delete
cancel edit new add back next previous search queue queued running succeeded failed paused done
none any all more less show hide open close download upload settings steps seed seeds strength guidance scheduler
found automatically drawn hand transparency mask shadow edges light size
""".split()) - {"steps", "seed", "seeds", "strength", "guidance", "scheduler"}  # the brief's own terms, kept in French


class VisibleText(HTMLParser):
    """The strings a person reads: text outside script/style, and the attributes browsers show. Text marked as
    English on purpose (``lang="en"``: the embedded model's English words) is not the page's language."""

    SHOWN = ("title", "placeholder", "alt", "aria-label")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skip, self.strings, self.english = 0, [], []  # english: [tag, depth] of the open lang="en" element

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self.skip += 1
        attrs = dict(attrs)
        if self.english and tag == self.english[0]:
            self.english[1] += 1
        elif not self.english and attrs.get("lang") == "en":
            self.english = [tag, 1]
        for name in self.SHOWN:
            if attrs.get(name):
                self.strings.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.strings.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self.skip = max(0, self.skip - 1)
        if self.english and tag == self.english[0]:
            self.english[1] -= 1
            if not self.english[1]:
                self.english = []

    def handle_data(self, data):
        if not self.skip and not self.english and data.strip():
            self.strings.append(data)


def visible_strings(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return [" ".join(s.split()) for s in parser.strings]


# Names that stay as they are in every language: the brief's run names, model ids, feed columns.
NAMES = re.compile(r"\S*[_/]\S*|sdstudio-[\w.-]+")


def english_left(html: str, typed: set[str], catalogue: dict) -> list[str]:
    found = []
    for text in visible_strings(html):
        bare = text
        for t in sorted(typed, key=len, reverse=True):
            bare = bare.replace(t, " ")
        if not bare.strip():
            continue  # all of it typed by someone
        words = {w.lower() for w in re.findall(r"[^\W\d_]+", NAMES.sub(" ", bare))}
        translated = catalogue.get(text)
        if (translated and translated != text) or words & ENGLISH:
            found.append(text)
    return found


@pytest.fixture
def world(db, product, photo, merchandiser, reviewer, admin_user):
    """One of everything the pages show: jobs of each mode (finished, failed, queued), a review, a campaign, the study."""
    from evaluation import services as review
    from generation import campaigns, experiments
    from generation.models import GenerationJob, Status

    text = finished_job(product=product, created_by=merchandiser)
    img = finished_job(product=product, mode="img2img", source_photo=photo, strength=0.6, fit="pad")
    scene = finished_job(product=product, mode="scene", source_photo=photo, product_scale=0.6, product_x=0.5, product_y=0.6,
                         edges="matte", shadow="contact")
    failed = finished_job(product=product)
    GenerationJob.objects.filter(pk=failed.pk).update(status=Status.FAILED, error="CUDA out of memory")
    queued = GenerationJob.objects.create(prompt="a red mug", seed=1, width=64, height=64, product=product)
    review.evaluation_submit(job=img, user=reviewer, scores={"prompt_adherence": 2, "visual_realism": 1, "artifacts": 2, "ecommerce_usability": 1,
                                                             "reproducibility": 2}, justification="Bon cadrage")
    campaign = campaigns.campaign_create(name="Été", mode="text2img", prompt_template="{name} on a wooden table",
                                         selection={"skus": [product.sku]}, formats=[{"name": "square", "width": 64, "height": 64}],
                                         seeds_per_item=1, base_seed=5, parameters={"num_inference_steps": 2}, user=merchandiser)
    study, _ = experiments.study_seed(product=product, source_photo=photo, user=admin_user)
    rerun = finished_job(product=product, rerun_of=text, rerun_result="identical")
    return {"rerun": rerun, "text": text, "img": img, "scene": scene, "failed": failed, "queued": queued, "campaign": campaign, "study": study}


def pages(world, product, photo):
    jobs = [world[k] for k in ("text", "img", "scene", "failed", "queued")]
    merchandising = [
        "/", reverse("catalog:product_list"), reverse("catalog:product_create"), reverse("catalog:product_detail", args=[product.sku]),
        reverse("catalog:product_edit", args=[product.sku]), reverse("catalog:photo_upload", args=[product.sku]),
        reverse("catalog:photo_detail", args=[product.sku, photo.pk]), reverse("catalog:shop"),
        reverse("generation:job_list"), reverse("generation:job_create"),
        reverse("generation:job_create") + f"?mode=scene&product={product.pk}&source_photo={photo.pk}",
        reverse("generation:job_create") + "?mode=img2img", reverse("generation:job_create") + f"?from={world['img'].pk}",
        reverse("experiments:experiment_list"), reverse("experiments:experiment_detail", args=[world["study"].pk]),
        reverse("campaigns:campaign_list"), reverse("campaigns:campaign_new"),
        reverse("campaigns:campaign_detail", args=[world["campaign"].pk]),
        reverse("campaigns:campaign_grid", args=[world["campaign"].pk]),
        reverse("api:tokens"), reverse("password_change"),
    ] + [job.get_absolute_url() for job in jobs]
    reviewing = ["/", reverse("evaluation:queue"), reverse("evaluation:queue") + "?status=all", world["text"].get_absolute_url(),
                 world["img"].get_absolute_url()]
    admin = merchandising + reviewing + [reverse("generation:rerun_compare", args=[world["rerun"].pk])]
    return {"merch": merchandising, "reviewer": reviewing, "boss": admin}


def test_every_page_reads_in_french_for_each_role(client, world, product, photo):
    catalogue = {k: v for k, v in read_po(LOCALE / "django.po").items() if isinstance(k, str)}
    from generation.experiments import STUDY_PROMPT

    # What people typed (and the brief's English prompt) stays in its own language.
    typed = {product.name, product.sku, product.category, "sleek black wireless headphones", "a red mug", "Bon cadrage",
             "{name} on a wooden table, soft light", "{name} on a wooden table", "CUDA out of memory", "Été", STUDY_PROMPT, "merch",
             "reviewer", "boss"}  # the prompts are English on purpose: the models read English
    from django.contrib.auth.models import User

    left = {}
    for username, urls in pages(world, product, photo).items():
        client.force_login(User.objects.get(username=username))
        for url in urls:
            response = client.get(url, HTTP_ACCEPT_LANGUAGE=FRENCH)
            assert response.status_code == 200, (username, url, response.status_code)
            assert response["Content-Language"] == "fr", url
            for text in english_left(response.content.decode(), typed, catalogue):
                left.setdefault(text, f"{username} {url}")
    assert not left, "\n".join(f"{where}: {text}" for text, where in sorted(left.items(), key=lambda kv: kv[1]))


@pytest.fixture
def scored_study(db, product, photo, reviewer):
    """The brief's nine runs, finished, with the three evaluations its question 6.b asks for."""
    from evaluation.services import evaluation_submit
    from generation.experiments import STUDY_DESCRIPTION, STUDY_RUNS
    from generation.models import Experiment, GenerationJob

    study = Experiment.objects.create(name="Étude du brief", kind="study", product=product, description=STUDY_DESCRIPTION)
    jobs = {}
    for run in STUDY_RUNS[:9]:
        extra = {"source_photo": photo, "fit": "pad", "strength": 0.6} if run.mode == "img2img" else {}
        jobs[run.name] = finished_job(product=product, experiment=study, run_name=run.name, mode=run.mode,
                                      **{"num_inference_steps": 30, **extra, **run.changes})
    for name, ssim in (("i2i_run07_strength035", 0.9), ("i2i_run08_strength060", 0.6), ("i2i_run09_strength085", 0.3)):
        GenerationJob.objects.filter(pk=jobs[name].pk).update(fidelity_ssim=ssim)
    for name, scores, why in (("t2i_run01_baseline", (2, 2, 2, 2, 2), "- Équilibre optimal.\n- Nette, fidèle au prompt."),
                              ("t2i_run05_guid12", (2, 1, 2, 1, 2), "- Contraste excessif."),
                              ("i2i_run09_strength085", (2, 0, 1, 0, 2), "- Le produit est réinventé.")):
        evaluation_submit(job=jobs[name], user=reviewer, justification=why,
                          scores=dict(zip(("prompt_adherence", "visual_realism", "artifacts", "ecommerce_usability",
                                           "reproducibility"), scores)))
    return study


def report_of(client, study, language: str) -> list[str]:
    import io
    import zipfile

    response = client.get(reverse("experiments:experiment_report", args=[study.pk]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return zipfile.ZipFile(io.BytesIO(content)).read("report.md").decode().splitlines()


def test_the_french_report_follows_the_brief_s_rapport_md(client, reviewer, scored_study):
    client.force_login(reviewer)
    lines = report_of(client, scored_study, FRENCH)
    assert "| Run | Paramètre modifié | Image | Observations |" in lines, "\n".join(lines[:60])
    # question 3.c: the grid of the six text2img runs, as the brief's table
    start = lines.index("| Run | Paramètre modifié | Image | Observations |")
    rows = lines[start + 2:start + 8]
    assert [row.split(" | ")[0] for row in rows] == [f"| **0{n}**" for n in range(1, 7)]
    assert "Steps bas \\(15 steps\\) | ![t2i\\_run02\\_steps15](outputs/t2i_run02_steps15.png)" in rows[1]
    assert "Image de référence." in rows[0] and r"Scheduler DDIM \(30 steps, G=7.5\)" in rows[5]
    # the comment on each parameter, in the brief's words and order
    impacts = [line.split(" :")[0] for line in lines if line.startswith("Impact ")]
    assert impacts == ["Impact du nombre de Steps", "Impact de la Guidance (CFG Scale)", "Impact du Scheduler"]
    # question 4.c: the source, then each strength run with what it kept
    assert "Image source de base :" in lines
    strengths = [i for i, line in enumerate(lines) if line.startswith("Run0") and "(strength=" in line]
    assert [lines[i] for i in strengths] == ["Run07 (strength=0.35) :", "Run08 (strength=0.60) :", "Run09 (strength=0.85) :"]
    assert lines[strengths[2] + 2] == "![i2i\\_run09\\_strength085](outputs/i2i_run09_strength085.png)"
    assert "peu de la photo est gardé" in lines[strengths[2] + 4]
    # question 6: the rubric table with the brief's columns, the totals /10, then the justifications
    header = lines.index("| Type de génération | Image | Adherence | Realism | Artifacts | Usability | Repro. | **Total (/10)** |")
    table = lines[header + 2:header + 5]
    assert [row.rsplit(" | ", 1)[1] for row in table] == ["**10** |", "**8** |", "**5** |"]
    assert table[0].startswith(r"| **1. Baseline \(30 steps, G=7.5, EulerA\)** (Run 01, reviewer) |")
    assert "| 2 | 0 | 1 | 0 | 2 |" in table[2]
    justification = lines.index("Justification :")
    assert lines[justification + 2] == r"* **1. Baseline \(30 steps, G=7.5, EulerA\) :** Équilibre optimal. Nette, fidèle au prompt."
    assert lines[justification + 4].startswith("* **3. img2img strength 0.85 :** Le produit")
    # the rest of the report is French too, and the English report keeps its own words
    assert "## Paramètres et durées" in lines and "## Parameters and timings" not in lines
    assert lines[2].startswith("L’étude contrôlée du brief")
    english = report_of(client, scored_study, "en")
    assert "| Run | Changed parameter | Image | Observations |" in english and "Justification:" in english
    assert "| Generation type | Image | Adherence | Realism | Artifacts | Usability | Repro. | **Total (/10)** |" in english


def test_refusals_and_errors_read_in_french_on_pages_and_in_the_api(client, world, product, photo):
    from api.tests.test_api import client_for
    from conftest import make_user
    from django.contrib.auth.models import User

    catalogue = {k: v for k, v in read_po(LOCALE / "django.po").items() if isinstance(k, str)}
    typed = {product.name, product.sku, "sleek black wireless headphones", "new-colleague"}
    # a visitor's login and password pages, a login without a role, the admin and the credentials check
    seen = {url: client.get(url, HTTP_ACCEPT_LANGUAGE=FRENCH) for url in ("/accounts/login/", "/accounts/password_reset/")}
    client.force_login(make_user("new-colleague"))
    seen["no role"] = client.get("/", HTTP_ACCEPT_LANGUAGE=FRENCH)
    assert seen["no role"].status_code == 403 and "Demandez à un administrateur" in seen["no role"].content.decode()
    client.force_login(User.objects.get(username="boss"))
    for url in ("/admin/", "/admin/generation/generationjob/", reverse("verify")):
        seen[url] = client.get(url, HTTP_ACCEPT_LANGUAGE=FRENCH)
    # a job form sent with what a newcomer gets wrong, and a photo that is not an image
    client.force_login(User.objects.get(username="merch"))
    seen["job form"] = client.post(reverse("generation:job_create"), {"mode": "img2img", "prompt": "", "width": 500, "height": 512,
                                                                      "num_inference_steps": 500, "guidance_scale": 7.5,
                                                                      "scheduler": "euler_a", "variants": 1},
                                   HTTP_ACCEPT_LANGUAGE=FRENCH)
    from django.core.files.uploadedfile import SimpleUploadedFile

    seen["upload"] = client.post(reverse("catalog:photo_upload", args=[product.sku]),
                                 {"photo": SimpleUploadedFile("notes.png", b"not an image", "image/png")}, HTTP_ACCEPT_LANGUAGE=FRENCH)
    form = seen["job form"].content.decode()
    assert "500 n’est pas un multiple de 8 ; essayez 496 ou 504." in form and "Ce champ est obligatoire." in form
    assert "Image vers image demande une photo source" in form
    # past the form's own checks, the services' sentences (generation.modes.validate)
    seen["services"] = client.post(reverse("generation:job_create"), {
        "mode": "img2img", "product": product.sku, "source_photo": photo.pk, "prompt": "a red mug", "width": 64, "height": 64,
        "num_inference_steps": 1, "strength": 0.5, "fit": "pad", "guidance_scale": 7.5, "scheduler": "euler_a", "variants": 1},
        HTTP_ACCEPT_LANGUAGE=FRENCH)
    assert "moins d’une étape de débruitage tournerait" in seen["services"].content.decode()
    assert "n’est pas une image JPEG, PNG ou WebP" in seen["upload"].content.decode()
    left = {}
    for where, response in seen.items():
        assert response["Content-Language"] == "fr", where
        for text in english_left(response.content.decode(), typed, catalogue):
            if text != "Search":  # the admin search box's icon: alt="Search" is written untranslated in Django's own template
                left.setdefault(text, where)
    assert not left, "\n".join(f"{where}: {text}" for text, where in sorted(left.items(), key=lambda kv: kv[1]))
    # the API answers in the language asked for; its field names stay English
    api, _ = client_for(User.objects.get(username="merch"))
    answer = api.post("/api/jobs/", {"prompt": "", "num_inference_steps": 0}, format="json", HTTP_ACCEPT_LANGUAGE=FRENCH).json()
    assert answer["prompt"] == ["Ce champ ne peut être vide."], answer  # Django REST framework's own French
    answer = api.post("/api/jobs/", {"mode": "img2img", "prompt": "a red mug", "source_photo": photo.pk, "num_inference_steps": 1,
                                     "strength": 0.5, "width": 64, "height": 64}, format="json", HTTP_ACCEPT_LANGUAGE=FRENCH).json()
    assert "moins d’une étape de débruitage tournerait" in " ".join(answer["strength"]), answer
    english = api.post("/api/jobs/", {"mode": "img2img", "prompt": "a red mug", "source_photo": photo.pk, "num_inference_steps": 1,
                                      "strength": 0.5, "width": 64, "height": 64}, format="json").json()
    assert "fewer than one denoising step would run" in " ".join(english["strength"]), english
