from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.utils.translation import gettext

from catalog import formats, masks, published, services, shopimports
from catalog.forms import PhotoUploadForm, ProductForm
from catalog.models import FeedToken, MaskSource, Product, ProductPhoto, ShopImport


@login_required
def product_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    products = Product.objects.annotate(job_count=Count("jobs", distinct=True)).order_by("sku").prefetch_related(
        Prefetch("photos", queryset=ProductPhoto.objects.only("id", "product_id", "thumbnail", "created_at"))
    )
    if query:
        products = products.filter(Q(sku__icontains=query) | Q(name__icontains=query) | Q(category__icontains=query))
    page = Paginator(products, 20).get_page(request.GET.get("page"))
    return render(request, "catalog/product_list.html", {"page": page, "q": query})


@login_required
def product_detail(request: HttpRequest, sku: str) -> HttpResponse:
    product = get_object_or_404(Product, sku=sku)
    jobs = published.product_jobs(product)
    page = Paginator(jobs, 24).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/product_detail.html",
        {"product": product, "photos": product.photos.all(), "page": page, "upload_form": PhotoUploadForm()},
    )


@login_required
@permission_required("catalog.add_product", raise_exception=True)
def product_create(request: HttpRequest) -> HttpResponse:
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field, errors)
        else:
            messages.success(request, gettext("Product %(sku)s created. Add a photo to restyle it.") % {"sku": product.sku})
            return redirect(product)
    status = 400 if request.method == "POST" else 200
    return render(request, "catalog/product_form.html", {"form": form}, status=status)


@login_required
@permission_required("catalog.change_product", raise_exception=True)
def product_edit(request: HttpRequest, sku: str) -> HttpResponse:
    product = get_object_or_404(Product, sku=sku)
    form = ProductForm(request.POST or None, instance=product)
    form.fields["sku"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.product_update(product=product, name=data["name"], description=data["description"], category=data["category"],
                                user=request.user)
        messages.success(request, "Saved.")
        return redirect(product)
    status = 400 if request.method == "POST" else 200
    return render(request, "catalog/product_form.html", {"form": form, "product": product}, status=status)


@login_required
@permission_required("catalog.add_productphoto", raise_exception=True)
def photo_upload(request: HttpRequest, sku: str) -> HttpResponse:
    product = get_object_or_404(Product, sku=sku)
    form = PhotoUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["photo"]
        try:
            photo, notes = services.photo_add(product=product, data=upload.read(), name=upload.name, user=request.user)
        except ValidationError as exc:
            form.add_error("photo", exc.messages)
        else:
            messages.success(request, gettext("Photo added (%(width)sx%(height)s px).")
                                      % {"width": photo.width, "height": photo.height})
            for note in notes:
                messages.info(request, note)
            return redirect(product)
    status = 400 if request.method == "POST" else 200
    return render(request, "catalog/photo_form.html", {"form": form, "product": product}, status=status)


@login_required
def product_search(request: HttpRequest) -> JsonResponse:
    """Search-as-you-type for product fields: up to 20 products whose SKU or name holds ``q``."""
    query = request.GET.get("q", "").strip()[:100]
    products = Product.objects.order_by("sku")
    if query:
        products = products.filter(Q(sku__icontains=query) | Q(name__icontains=query))
    return JsonResponse({"results": [{"sku": p.sku, "name": p.name} for p in products.only("sku", "name")[:20]]})


@login_required
def product_photos(request: HttpRequest, sku: str) -> JsonResponse:
    """A product's photos, for the job form's Source photo once a product is chosen."""
    product = get_object_or_404(Product, sku=sku)
    return JsonResponse({"photos": [{"id": photo.pk, "label": photo.choice_label, "mask_unsure": photo.mask_unsure,
                                     "thumbnail": photo.thumbnail.url if photo.thumbnail else ""}
                                    for photo in product.photos.select_related("product")]})


@login_required
def photo_detail(request: HttpRequest, sku: str, pk: int) -> HttpResponse:
    """The photo, its product mask and the mask editor (static/js/mask_editor.js)."""
    from catalog import segmenter

    photo = get_object_or_404(ProductPhoto.objects.select_related("product"), product__sku=sku, pk=pk)
    # With a learned segmenter configured, an automatic mask is the built-in one until the shop worker answers.
    learning = segmenter.configured() and photo.mask_source in (MaskSource.AUTOMATIC, "")
    return render(request, "catalog/photo_detail.html", {
        "photo": photo, "product": photo.product, "scene_jobs": photo.jobs.exclude(mask="").count(),
        "segmenter": segmenter.label() if learning else "", "segmenter_state": segmenter.state() if learning else None})


@login_required
def photo_mask(request: HttpRequest, sku: str, pk: int) -> HttpResponse:
    """GET: the mask as a PNG (``?automatic=1``: the automatic one, for "start again"). POST: save a drawn mask.

    A POST sends the PNG as the body's ``mask`` file; it answers JSON, 400 with a sentence when the mask is unusable.
    """
    photo = get_object_or_404(ProductPhoto.objects.select_related("product"), product__sku=sku, pk=pk)
    if request.method == "POST":
        if not request.user.has_perm("catalog.change_productphoto"):
            return JsonResponse({"error": gettext("Only merchandisers can change a photo's mask.")}, status=403)
        upload = request.FILES.get("mask")
        if upload is None:
            return JsonResponse({"error": gettext("Send the mask as a PNG file in the 'mask' field.")}, status=400)
        if upload.size > 8 * 1024 * 1024:
            return JsonResponse({"error": gettext("The mask file is over 8 MB; send an 8-bit PNG at the photo's size.")}, status=400)
        try:
            services.photo_set_mask(photo=photo, data=upload.read(), user=request.user)
        except ValidationError as exc:
            return JsonResponse({"error": " ".join(exc.messages)}, status=400)
        return JsonResponse({"saved": True, "mask_source": photo.get_mask_source_display(), "url": request.path})
    mask = services.photo_mask_image(photo, automatic=request.GET.get("automatic") == "1")
    if mask is None:
        raise Http404(gettext("This photo has no mask yet."))
    response = HttpResponse(masks.png(mask), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def photo_mask_hints(request: HttpRequest, sku: str, pk: int) -> HttpResponse:
    """The mask found from the editor's hints, as a PNG to check before saving (nothing is stored).

    The body: ``box`` (x0,y0,x1,y1), ``add`` and ``remove`` (x,y each, repeatable), in the photo's pixels, all the
    hints since the box was dragged; ``mask`` (the editor's current mask, a PNG) and ``focus`` (the point just
    clicked): only the mask near it changes. 400 with a sentence for a bad hint.
    """
    photo = get_object_or_404(ProductPhoto.objects.select_related("product"), product__sku=sku, pk=pk)
    if not request.user.has_perm("catalog.change_productphoto"):
        return JsonResponse({"error": gettext("Only merchandisers can change a photo's mask.")}, status=403)
    start = None
    upload = request.FILES.get("mask")
    try:
        if upload is not None and (request.POST.get("focus") or not request.POST.get("box")):
            if upload.size > 8 * 1024 * 1024:
                raise ValidationError(gettext("The mask file is over 8 MB; send an 8-bit PNG at the photo's size."))
            start = masks.decode(upload.read(), (photo.width, photo.height))
        mask = services.mask_from_hints(photo=photo, box=request.POST.get("box") or None, add=request.POST.getlist("add"),
                                        remove=request.POST.getlist("remove"), start=start,
                                        focus=request.POST.get("focus") or None)
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    response = HttpResponse(masks.png(mask), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


def export_response(name: str, request: HttpRequest, *, disposition: str = "attachment") -> HttpResponse:
    """A shop format's export (catalog.formats) as a download, the approved images at this site's public links
    (``?campaign=ID``: only that campaign's, in the order of its formats)."""
    from sdstudio.textsafe import parse_id

    shop_format = formats.get(name)
    text = formats.export(name, request.build_absolute_uri("/"), campaign=parse_id(request.GET.get("campaign", "")))
    response = HttpResponse(text, content_type=shop_format.content_type)
    response["Content-Disposition"] = f'{disposition}; filename="{shop_format.filename}"'
    return response


@login_required
@permission_required("catalog.add_product", raise_exception=True)
def shop(request: HttpRequest) -> HttpResponse:
    """The shop round trip: import a Shopify product CSV, download the exports, manage the Merchant Center feed's token."""
    status = 200
    if request.method == "POST" and request.POST.get("action") == "import":
        upload = request.FILES.get("csv_file")
        if upload is None:
            messages.error(request, "Choose a Shopify product CSV to import.")
            status = 400
        elif upload.size > 50 * 1024 * 1024:
            messages.error(request, "The file is over 50 MB; split it into several exports.")
            status = 400
        else:
            try:
                run = shopimports.shop_import_start(data=upload.read(), name=upload.name, user=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                status = 400
            else:
                return redirect(run)
    elif request.method == "POST" and request.POST.get("action") == "new_token":
        services.feed_token_create(user=request.user)  # administrators only: PermissionDenied is a 403 page
        messages.success(request, gettext("New feed link made; the old ones stop working."))
        return redirect("catalog:shop")
    token = FeedToken.objects.filter(revoked_at__isnull=True).first()
    feed_url = request.build_absolute_uri(reverse("catalog:merchant_feed") + f"?token={token.token}") if token else ""
    recent = ShopImport.objects.select_related("created_by")[:5]
    return render(request, "catalog/shop.html", {"feed_url": feed_url, "imports": recent}, status=status)


@login_required
@permission_required("catalog.add_product", raise_exception=True)
def shop_import(request: HttpRequest, pk: int) -> HttpResponse:
    """An import's progress (the page refreshes itself until it ends) and its report."""
    run = get_object_or_404(ShopImport, pk=pk)
    hint = "start one with: python manage.py rqworker shop --worker-class catalog.worker.ShopWorker"
    return render(request, "catalog/shop_import.html", {"run": run, "report": run.report or None, "worker_hint": hint})


@login_required
def shopify_export(request: HttpRequest) -> HttpResponse:
    return export_response("shopify", request)


def merchant_feed(request: HttpRequest) -> HttpResponse:
    """The Merchant Center supplemental feed: for a logged-in user, or for the shop with the feed link's token."""
    token = request.GET.get("token", "")
    if not request.user.is_authenticated:
        if not token or not FeedToken.objects.filter(token=token, revoked_at__isnull=True).exists():
            return HttpResponse(gettext("This feed link is not valid (revoked or mistyped); ask for the current one on SD Studio's Shop page."
                                        "\n"),
                                status=403, content_type="text/plain; charset=utf-8")
    response = export_response("merchant", request, disposition="inline")
    response["Cache-Control"] = "private, max-age=60"
    return response


@login_required
def approved_feed(request: HttpRequest) -> HttpResponse:
    """A shop feed: one row per SKU with its approved images (Google Merchant style columns)."""
    return export_response("approved", request)
