from django.urls import path

from embudo.leads import views

app_name = "leads"
urlpatterns = [
    path("", views.lead_list, name="list"),
    path("new/", views.lead_create, name="create"),
    path("<int:lead_id>/", views.lead_detail, name="detail"),
    path("<int:lead_id>/edit/", views.lead_edit, name="edit"),
    path("<int:lead_id>/notes/", views.lead_add_note, name="add_note"),
    path("<int:lead_id>/timeline/", views.lead_timeline, name="timeline"),
    path("<int:lead_id>/header/", views.lead_header, name="header"),
    path("<int:lead_id>/cards/<slug:section>/", views.lead_card, name="card"),
    path("<int:lead_id>/cards/<slug:section>/edit/", views.lead_card_edit, name="card_edit"),
]
