"""amlgen: turn a declarative YAML spec of an Azure ML workspace into ARM JSON and Bicep."""

__version__ = "0.1.0"
