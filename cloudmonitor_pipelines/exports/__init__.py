"""Cost Management exports: manifests, export-run discovery and choice, reading the listed files, stated counts."""
