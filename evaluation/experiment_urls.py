from django.urls import path

from evaluation import views as report_views
from generation import experiment_views as views

app_name = "experiments"
urlpatterns = [
    path("", views.experiment_list, name="experiment_list"),
    path("<int:pk>/", report_views.experiment_detail, name="experiment_detail"),
    path("<int:pk>/report.zip", report_views.experiment_report, name="experiment_report"),
    path("sweep-from/<int:job_pk>/", views.sweep_create, name="sweep_create"),
]
