from functools import wraps

from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.contrib.admin.views.decorators import user_passes_test
from django.urls import URLPattern, include, path, re_path
from django.utils.translation import gettext_lazy
from django.views.i18n import JavaScriptCatalog
from django_rq.urls import get_admin_urlpatterns, get_api_urlpatterns

from sdstudio import language, media, views

# The RQ dashboard can requeue and delete jobs: superusers only, not every staff member.
_superusers_only = user_passes_test(lambda u: u.is_active and u.is_superuser, login_url="admin:login")


def superuser_required(view):
    """Superusers only; a queue or connection index that does not exist (django-rq indexes a list) is a 404."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except IndexError:
            raise Http404(gettext_lazy("No such queue or Redis connection.")) from None

    return _superusers_only(wrapped)


def session_for_superusers_only(view):
    """django-rq's stats API lets any staff session in; here a session counts only for superusers (tokens still work)."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not getattr(request.user, "is_superuser", False):
            request.user = AnonymousUser()
        return view(request, *args, **kwargs)

    return wrapped


def rq_api_urlpatterns():
    return [URLPattern(p.pattern, session_for_superusers_only(p.callback), p.default_args, p.name) for p in get_api_urlpatterns()]

admin.site.site_header = gettext_lazy("SD Studio administration")
admin.site.site_title = "SD Studio"

urlpatterns = [
    path("", views.home, name="home"),
    path("verify/", views.verify, name="verify"),
    path("api/", include("api.urls")),
    path("accounts/language/", language.set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/password_reset/", views.password_reset, name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("catalog/", include("catalog.urls")),
    path("jobs/", include("generation.urls")),
    path("experiments/", include("evaluation.experiment_urls")),
    path("review/", include("evaluation.urls")),
    path("campaigns/", include("evaluation.campaign_urls")),
    re_path(r"^media/(?P<path>.+)$", media.serve_media, name="media"),
    path("p/<str:token>.png", media.serve_public_image, name="public_image"),
    path(
        "django-rq/",
        include((rq_api_urlpatterns() + get_admin_urlpatterns(view_wrapper=superuser_required), "django_rq")),
    ),
]

