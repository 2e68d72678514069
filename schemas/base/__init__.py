"""The base JSON Schemas of playbooks and community.yaml, as data (read by playbook_engine.schema)."""
