from django.urls import path

from evaluation import views

app_name = "evaluation"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("decide/", views.decide_many, name="decide_many"),
    path("jobs/<int:pk>/evaluate/", views.evaluate, name="evaluate"),
    path("jobs/<int:pk>/decide/", views.decide, name="decide"),
]
