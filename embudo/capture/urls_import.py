"""CSV import UI, mounted at ``/capture/imports/``."""

from django.urls import path

from embudo.capture import views_import

app_name = "capture_imports"
urlpatterns = [
    path("", views_import.import_list, name="list"),
    path("<int:job_id>/", views_import.import_detail, name="detail"),
    path("<int:job_id>/progress/", views_import.import_progress, name="progress"),
    path("<int:job_id>/resume/", views_import.import_resume, name="resume"),
    path("<int:job_id>/rejected.csv", views_import.import_rejected_csv, name="rejected_csv"),
]
