from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "embudo.pipeline"
    label = "pipeline"
    verbose_name = "Pipeline"
