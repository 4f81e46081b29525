"""Realistic volume for load and query-count checks: products, jobs with outputs, evaluations and decisions."""
from __future__ import annotations

import io
import random

from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image
from tqdm import tqdm

from catalog.models import Product
from evaluation.models import RUBRIC_FIELDS, Evaluation, ReviewDecision
from generation.models import Decision, GenerationJob, Scheduler
from sdstudio.images import thumbnail_png


class Command(BaseCommand):
    help = gettext("Create N finished jobs (with PNG outputs and thumbnails), evaluations and decisions across products.")

    def add_arguments(self, parser):
        parser.add_argument("--jobs", type=int, default=10_000)
        parser.add_argument("--products", type=int, default=200)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--shared-files", action="store_true",
                            help=gettext("Every job points at one output and one thumbnail file (fast, for volumes of 100,000)."))

    def handle(self, *args, jobs: int, products: int, seed: int, shared_files: bool = False, **options):
        rng = random.Random(seed)
        reviewers = []
        for name in ("volume-reviewer-1", "volume-reviewer-2"):
            user, _ = User.objects.get_or_create(username=name)
            user.groups.add(Group.objects.get(name="Reviewers"))
            reviewers.append(user)
        catalog = [Product(sku=f"VOL-{i:05d}", name=f"Volume product {i}", category=rng.choice(["Audio", "Bags", "Shoes"]))
                   for i in range(products)]
        Product.objects.bulk_create(catalog, ignore_conflicts=True)
        catalog = list(Product.objects.filter(sku__startswith="VOL-"))
        now = timezone.now()
        created = 0
        shared = None
        if shared_files:
            image = Image.new("RGB", (64, 64), (90, 90, 90))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            shared = (default_storage.save("outputs/volume/shared.png", ContentFile(buffer.getvalue())),
                      default_storage.save("thumbs/volume/shared.png", ContentFile(thumbnail_png(image))))
        with tqdm(total=jobs, desc="jobs", unit="job", file=self.stderr._out) as bar:
            while created < jobs:
                batch = min(500, jobs - created)
                with transaction.atomic():
                    rows = []
                    for _ in range(batch):
                        if shared:
                            name, thumb = shared
                        else:
                            color = tuple(rng.randrange(256) for _ in range(3))
                            image = Image.new("RGB", (64, 64), color)
                            buffer = io.BytesIO()
                            image.save(buffer, format="PNG")
                            name = default_storage.save(f"outputs/volume/{created + len(rows)}.png", ContentFile(buffer.getvalue()))
                            thumb = default_storage.save(f"thumbs/volume/{created + len(rows)}.png", ContentFile(thumbnail_png(image)))
                        rows.append(GenerationJob(
                            prompt="volume product shot", seed=rng.randrange(2**32), num_inference_steps=rng.choice([15, 30, 50]),
                            guidance_scale=rng.choice([4.0, 7.5, 12.0]), scheduler=rng.choice(Scheduler.values), width=512, height=512,
                            product=rng.choice(catalog), status="succeeded", output=name, thumbnail=thumb,
                            started_at=now, finished_at=now, inference_seconds=5.0, seconds_per_step=0.17, attempts=1,
                        ))
                    made = GenerationJob.objects.bulk_create(rows)
                    evaluations, decisions = [], []
                    for job in made:
                        if rng.random() < 0.5:
                            for reviewer in reviewers:
                                scores = {field: rng.randrange(3) for field in RUBRIC_FIELDS}
                                evaluations.append(Evaluation(job=job, reviewer=reviewer, total=sum(scores.values()), **scores))
                        if rng.random() < 0.33:
                            decision = rng.choice(Decision.values)
                            decisions.append(ReviewDecision(job=job, decision=decision, decided_by=reviewers[0],
                                                            reason="volume" if decision == Decision.REJECTED else ""))
                            job.decision = decision
                    Evaluation.objects.bulk_create(evaluations)
                    ReviewDecision.objects.bulk_create(decisions)
                    GenerationJob.objects.bulk_update([j for j in made if j.decision], ["decision"])
                created += batch
                bar.update(batch)
        self.stdout.write(f"{created} jobs across {len(catalog)} products")
