"""Campaigns from the command line: create one from a recipe, see where it stands, pause, resume, cancel, retry."""
from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from generation import campaigns
from generation.models import Campaign


class Command(BaseCommand):
    help = (gettext("Catalog campaigns: `campaign create NAME --prompt '{name} on a wooden table' --format square "
                         "--format portrait --category Kitchen`, then `campaign status ID`, `pause`, `resume`, `cancel`, "
                         "`retry`, `list`."))

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list", "status", "pause", "resume", "cancel", "retry"])
        parser.add_argument("target", nargs="?", help=gettext("create: the campaign's name; the others: its id."))
        parser.add_argument("--mode", default="scene")
        parser.add_argument("--prompt", help=gettext("The prompt template: {name}, {vendor}, {type}, {category}, {sku}."))
        parser.add_argument("--negative-prompt", default="")
        parser.add_argument("--format", action="append", default=[], dest="formats",
                            help=gettext("%(join)s, or NAME:WIDTHxHEIGHT[:SCALE]; repeat for several.")
                                 % {"join": ', '.join(campaigns.FORMATS)})
        parser.add_argument("--sku", action="append", default=[], dest="skus")
        parser.add_argument("--category")
        parser.add_argument("--product-type")
        parser.add_argument("--vendor")
        parser.add_argument("--tag")
        parser.add_argument("--all", action="store_true", help=gettext("The whole catalog."))
        parser.add_argument("--candidates", type=int, default=1, help=gettext("Candidates (seeds) per product and format."))
        parser.add_argument("--seed", type=int, default=None, help=gettext("The first seed (default: a random one)."))
        parser.add_argument("--steps", type=int, default=None)
        parser.add_argument("--guidance", type=float, default=None)
        parser.add_argument("--alt", default="{name}, {format}", help=gettext("Alt text of the exported images."))

    def handle(self, *args, action: str, target: str | None, **options):
        try:
            if action == "create":
                self.create(target, options)
            elif action == "list":
                for campaign in Campaign.objects.all()[:100]:
                    self.show(campaign)
            else:
                campaign = self.find(target)
                if action != "status":
                    outcome = campaigns.ACTIONS[action](campaign=campaign, user=None)
                    campaign.refresh_from_db()
                    if not isinstance(outcome, Campaign):
                        self.stdout.write(f"{action}: {json.dumps(outcome)}")
                self.show(campaign)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    def find(self, target: str | None) -> Campaign:
        campaign = Campaign.objects.filter(pk=int(target)).first() if target and target.isdigit() else None
        if campaign is None:
            raise CommandError(gettext("No campaign “%(target)s”: give its id (`campaign list`).") % {"target": target})
        return campaign

    @staticmethod
    def parse_format(text: str):
        if ":" not in text:
            return text
        name, size, *scale = text.split(":")
        try:
            width, height = (int(v) for v in size.lower().split("x"))
        except ValueError:
            raise CommandError(f"--format {text!r}: write NAME:WIDTHxHEIGHT, e.g. banner:1024x432.") from None
        return {"name": name, "width": width, "height": height, **({"product_scale": scale[0]} if scale else {})}

    def create(self, name: str | None, options) -> None:
        if not name or not options["prompt"]:
            raise CommandError("campaign create NAME --prompt TEMPLATE [--format ...] [--sku ... | --category ... | --all]")
        selection = {key: options[key] for key in ("category", "product_type", "vendor", "tag") if options[key]}
        if options["skus"]:
            selection["skus"] = options["skus"]
        if options["all"]:
            selection["all"] = True
        parameters = {k: v for k, v in (("num_inference_steps", options["steps"]), ("guidance_scale", options["guidance"])) if v is not None}
        campaign = campaigns.campaign_create(
            name=name, mode=options["mode"], prompt_template=options["prompt"], negative_prompt=options["negative_prompt"],
            selection=selection, formats=[self.parse_format(f) for f in options["formats"] or ["square"]],
            parameters=parameters, seeds_per_item=options["candidates"], base_seed=options["seed"], alt_template=options["alt"])
        self.stdout.write(f"campaign {campaign.pk} {campaign.name!r}: {campaign.jobs.count()} jobs queued")
        for sku, why in campaign.skipped:
            self.stdout.write(f"  left out {sku}: {why}")

    def show(self, campaign: Campaign) -> None:
        p = campaigns.progress(campaign)
        s = p["by_status"]
        self.stdout.write(f"{campaign.pk} {campaign.name} [{campaign.status}] {p['finished']}/{p['total']} finished "
                          f"({s['succeeded']} succeeded, {s['failed']} failed, {s['canceled']} canceled, {s['running']} running, "
                          f"{s['queued']} queued); {p['approved_items']}/{p['items']} items approved")
