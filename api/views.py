"""SD Studio's REST API: products, photos (through the intake), jobs (every mode), reviews, exports.

Every write goes through the same services as the pages, so the same role rules
and the same sentences apply; an API token acts as its user.
"""
from __future__ import annotations

import hashlib
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import exception_handler

from api.models import IdempotentRequest
from api.parsers import SafeJSONParser
from api.serializers import (CampaignSerializer, DecisionSerializer, EvaluationSerializer, JobCreateSerializer, JobSerializer,
                             PhotoSerializer, ProductSerializer)
from catalog import services as catalog_services
from catalog import formats
from catalog.models import Product, ProductPhoto
from generation import parameters as P
from generation import services
from generation.models import GenerationJob
from generation.selectors import filter_jobs
from sdstudio.roles import require


def handle_exception(exc, context):
    """Django's ValidationError (what the services raise) becomes a 400 with its field errors, like DRF's own."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    return exception_handler(exc, context)


IDEMPOTENCY_KEY_MAX = 255  # the column's length: a longer key would be cut, and two keys could collide


def _require(request, perm: str, what: str) -> None:
    require(request.user, perm, gettext("Your role cannot %(what)s.") % {"what": what})


class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The catalog. Merchandisers create products; everyone with a login reads them."""

    serializer_class = ProductSerializer
    lookup_field = "sku"
    lookup_value_regex = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}"

    def get_queryset(self):
        queryset = Product.objects.prefetch_related("variants", "photos").order_by("sku")
        query = self.request.query_params.get("q", "").strip()
        return queryset.filter(Q(sku__icontains=query) | Q(name__icontains=query)) if query else queryset

    def create(self, request, *args, **kwargs):
        _require(request, "catalog.add_product", gettext_lazy("create products"))  # the role first: no body is parsed for a refusal
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = catalog_services.product_create(
            sku=data["sku"], name=data.get("name", ""), description=data.get("description", ""),
            category=data.get("category", ""), user=self.request.user)

    @extend_schema(request={"multipart/form-data": inline_serializer("PhotoUpload", {"image": serializers.ImageField()})},
                   responses={201: PhotoSerializer, 400: OpenApiResponse(description=gettext_lazy("Refused by the photo intake, with why."))})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def photos(self, request, sku=None):
        """Add a photo through the safe intake (format from the bytes, size and pixel caps, EXIF, alpha kept as mask)."""
        _require(request, "catalog.add_productphoto", gettext_lazy("add photos"))
        product = self.get_object()
        upload = request.FILES.get("image")
        if upload is None:
            return Response({"image": [gettext("Send the photo as the multipart field 'image'.")]}, status=400)
        try:
            photo, notes = catalog_services.photo_add(product=product, data=upload.read(), name=upload.name, user=request.user)
        except catalog_services.DuplicatePhoto as duplicate:
            return Response({**PhotoSerializer(duplicate.existing, context={"request": request}).data,
                             "notes": [duplicate.messages[0]]}, status=200)
        return Response({**PhotoSerializer(photo, context={"request": request}).data, "notes": notes}, status=201)


class PhotoViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = PhotoSerializer
    queryset = ProductPhoto.objects.all()

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def image(self, request, pk=None):
        """The stored photo (PNG)."""
        photo = self.get_object()
        return FileResponse(photo.image.open("rb"), content_type="image/png")

    @extend_schema(request=inline_serializer("MaskHints", {
        "box": serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4, required=False,
                                     help_text=gettext_lazy("x0, y0, x1, y1 around the product, in the photo's pixels.")),
        "add": serializers.ListField(child=serializers.ListField(child=serializers.FloatField()), required=False,
                                     help_text=gettext_lazy("Points [x, y] on the product.")),
        "remove": serializers.ListField(child=serializers.ListField(child=serializers.FloatField()), required=False,
                                        help_text=gettext_lazy("Points [x, y] on the scene.")),
    }), responses={200: PhotoSerializer, 400: OpenApiResponse(description=gettext_lazy("A box or point that is wrong, with why."))})
    @action(detail=True, methods=["post"], url_path="mask")
    def mask(self, request, pk=None):
        """Find the product from a box and points (GrabCut) and store it as the photo's mask; points alone refine the
        current mask."""
        _require(request, "catalog.change_productphoto", gettext_lazy("change a photo's mask"))
        photo = self.get_object()
        data = request.data if isinstance(request.data, dict) else {}
        catalog_services.photo_set_mask_from_hints(photo=photo, box=data.get("box") or None, add=data.get("add") or (),
                                                   remove=data.get("remove") or (), user=request.user)
        return Response(PhotoSerializer(photo, context={"request": request}).data)


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description=gettext_lazy("Any unique string per intended job: a retry with the same key and body returns the first answer "
                             "instead of queuing the job twice."))


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Generation jobs: text2img, img2img and scene, with the full parameter set of generation.parameters."""

    serializer_class = JobSerializer

    def get_queryset(self):
        queryset = GenerationJob.objects.select_related("product").order_by("-created_at", "-id")
        return filter_jobs(queryset, self.request.query_params)

    def get_parsers(self):
        return [SafeJSONParser(), MultiPartParser(), FormParser()]

    @extend_schema(request={"application/json": JobCreateSerializer, "multipart/form-data": JobCreateSerializer},
                   parameters=[IDEMPOTENCY_HEADER],
                   responses={201: JobSerializer, 200: OpenApiResponse(JobSerializer, description=gettext_lazy("A replay of an Idempotency-Key.")),
                              409: OpenApiResponse(description=gettext_lazy("The Idempotency-Key was used with another body."))})
    def create(self, request):
        """Queue a job. Send an Idempotency-Key so that a retry after a lost answer does not queue it twice."""
        _require(request, "generation.add_generationjob", gettext_lazy("start generation jobs"))
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > IDEMPOTENCY_KEY_MAX:
            return Response({"detail": gettext("The Idempotency-Key is %(count)s characters long; the limit is %(IDEMPOTENCY_KEY_MAX)s.")
                                       % {"count": len(key), "IDEMPOTENCY_KEY_MAX": IDEMPOTENCY_KEY_MAX}},
                            status=400)
        serializer = JobCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        mask_file = data.pop("mask", None)
        body = {k: (v.pk if hasattr(v, "pk") else v) for k, v in data.items()}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode())
        mask_bytes = mask_file.read() if mask_file is not None else None
        if mask_bytes:
            digest.update(mask_bytes)
        if key:
            replay = self._replay(request, key, digest.hexdigest())
            if replay is not None:
                return replay
        try:
            with transaction.atomic():
                job = self._create(request, data, mask_bytes)
                if key:
                    IdempotentRequest.objects.create(user=request.user, key=key, request_hash=digest.hexdigest(), job_ids=[job.pk])
        except IntegrityError:
            # The same key raced in from a concurrent retry: that request's job is the one.
            replay = self._replay(request, key, digest.hexdigest())
            if replay is not None:
                return replay
            raise
        return Response(JobSerializer(job, context={"request": request}).data, status=201)

    def _replay(self, request, key: str, request_hash: str) -> Response | None:
        earlier = IdempotentRequest.objects.filter(user=request.user, key=key).first()
        if earlier is None:
            return None
        if earlier.request_hash != request_hash:
            return Response({"detail": gettext("The Idempotency-Key “%(key)s” was already used for another request; use a new key for a new job.")
                                       % {"key": key}}, status=409)
        job = GenerationJob.objects.filter(pk=earlier.job_ids[0]).first()
        if job is None:
            return Response({"detail": gettext("The job this Idempotency-Key queued (#%(value)s) was deleted since; use a new key to queue it again.")
                                       % {"value": earlier.job_ids[0]}}, status=410)
        response = Response(JobSerializer(job, context={"request": request}).data, status=200)
        response["Idempotent-Replayed"] = "true"
        return response

    def _create(self, request, data: dict, mask_bytes: bytes | None) -> GenerationJob:
        params = {name: data[name] for name in P.NAMES if name in data}
        mask = None
        source = data.get("source_photo")
        if mask_bytes is not None:
            from catalog import masks

            if source is None:
                raise DjangoValidationError({"mask": gettext("A mask goes with a source photo.")})
            try:
                mask = masks.decode(mask_bytes, (source.width, source.height))
            except DjangoValidationError as exc:
                raise DjangoValidationError({"mask": exc.messages}) from None
        model = data.get("model")
        known = services.known_models() if model and model != "embedded" else set()
        if known and model not in known:
            raise DjangoValidationError({"model": gettext("No worker serves “%(value)s” and it is not configured: use one of %(value2)s, or start a worker for "
                                                          "it first (SDSTUDIO_MODEL=... manage.py rqworker generation).") % {"value": model[:100], "value2": ', '.join(sorted(known - {''})) or 'the default model'}})
        return services.job_create(**params, product=data.get("product"), source_photo=source, mask=mask, user=request.user,
                                   model_id=None if not model else ("" if model == "embedded" else model))

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel: a queued job at once, a running one at its next step (its creator or an administrator)."""
        job = self.get_object()
        services.job_cancel(job=job, user=request.user)
        job.refresh_from_db()
        return Response(JobSerializer(job, context={"request": request}).data)

    @extend_schema(request=None, responses={201: JobSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        """Re-run with identical parameters and seed (administrators); its result says identical or drifted."""
        job = services.job_rerun(job=self.get_object(), user=request.user)
        return Response(JobSerializer(job, context={"request": request}).data, status=201)

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def output(self, request, pk=None):
        """The output PNG, byte for byte (parameters, XMP and its C2PA manifest intact)."""
        job = self.get_object()
        if not job.output:
            return Response({"detail": gettext("Job #%(pk)s is %(status)s: no output yet.")
                                       % {"pk": job.pk, "status": job.get_status_display().lower()}}, status=404)
        return FileResponse(job.output.open("rb"), content_type="image/png", as_attachment=True,
                            filename=f"sdstudio-job{job.pk}-seed{job.seed}.png")

    @extend_schema(request=EvaluationSerializer, responses={201: EvaluationSerializer})
    @action(detail=True, methods=["post"])
    def evaluation(self, request, pk=None):
        """Score the output with the brief's rubric (reviewers); a second call updates your scores."""
        from evaluation.services import evaluation_submit

        _require(request, "evaluation.add_evaluation", gettext_lazy("score outputs"))
        serializer = EvaluationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        justification = data.pop("justification", "")
        evaluation = evaluation_submit(job=self.get_object(), user=request.user, scores=data, justification=justification)
        return Response({**evaluation.scores(), "justification": evaluation.justification, "total": evaluation.total}, status=201)

    @extend_schema(request=DecisionSerializer, responses={201: JobSerializer})
    @action(detail=True, methods=["post"])
    def decision(self, request, pk=None):
        """Approve or reject the output for the shop (reviewers); approval gives it its public link."""
        from evaluation.services import decision_record

        _require(request, "evaluation.add_reviewdecision", gettext_lazy("approve or reject outputs"))
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = self.get_object()
        decision_record(job=job, user=request.user, decision=serializer.validated_data["decision"],
                        reason=serializer.validated_data.get("reason", ""), confirmed=serializer.validated_data["confirm"])
        job.refresh_from_db()
        return Response(JobSerializer(job, context={"request": request}).data, status=201)


class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Catalog campaigns: one recipe for many products and formats (merchandisers start them; everyone reads them).
    Their jobs are in /api/jobs/?campaign=ID."""

    serializer_class = CampaignSerializer

    def get_queryset(self):
        from generation.models import Campaign

        return Campaign.objects.order_by("-created_at", "-id")

    def list(self, request):
        from generation import campaigns

        page = self.paginate_queryset(self.get_queryset())
        serializer = CampaignSerializer(page, many=True, context={"request": request, "progress": campaigns.progress_of(page)})
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=CampaignSerializer, responses={201: CampaignSerializer})
    def create(self, request):
        from generation import campaigns

        serializer = CampaignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = campaigns.campaign_create(**serializer.validated_data, user=request.user)
        return Response(CampaignSerializer(campaign).data, status=201)

    def _act(self, request, action_name: str):
        from generation import campaigns

        campaign = self.get_object()
        outcome = campaigns.ACTIONS[action_name](campaign=campaign, user=request.user)
        campaign.refresh_from_db()
        data = CampaignSerializer(campaign).data
        if isinstance(outcome, (int, dict)):
            data["outcome"] = outcome
        return Response(data)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Nothing more starts; what waited in Redis is taken back (its creator or an administrator)."""
        return self._act(request, "pause")

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Its jobs are fed to the campaign queue again."""
        return self._act(request, "resume")

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Every job not finished is canceled (a running one at its next step)."""
        return self._act(request, "cancel")

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Its failed jobs are queued again, as a set."""
        return self._act(request, "retry")


CAMPAIGN_PARAMETER = OpenApiParameter("campaign", int, description=gettext_lazy("Only this campaign's approved images, in the order of its formats."))


class ExportViewSet(viewsets.ViewSet):
    """The approved images for the shop, as the Shop page's downloads."""

    @extend_schema(parameters=[CAMPAIGN_PARAMETER], responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"], url_path="shopify")
    def shopify(self, request):
        """A Shopify product CSV with the approved images at their public links."""
        return self._export("shopify", request)

    @extend_schema(parameters=[CAMPAIGN_PARAMETER], responses={(200, "text/tab-separated-values"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"], url_path="merchant-center")
    def merchant_center(self, request):
        """A Google Merchant Center supplemental feed (TSV)."""
        return self._export("merchant", request)

    @staticmethod
    def _export(name: str, request) -> HttpResponse:
        from sdstudio.textsafe import parse_id

        campaign = parse_id(request.query_params.get("campaign", ""))
        return HttpResponse(formats.export(name, request.build_absolute_uri("/"), campaign=campaign),
                            content_type=formats.get(name).content_type)
