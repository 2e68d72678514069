"""playbook-engine: community-operations playbooks evaluated into planned operator tasks."""

from playbook_engine.hookspecs import hookimpl

__all__ = ["hookimpl"]
__version__ = "0.1.0"
