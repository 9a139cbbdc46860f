"""glance-registry: the registry REST API (glance-v1-reference §11) over
the in-process registry, for deployments that split the API from the
metadata service."""
