"""FOCUS cost data, Dagster-free: the spec catalogue, dataVersions, validation rules and engine, harmonization to the
canonical `costs` schema, and personal-data handling. Each module's docstring says what belongs in it."""
