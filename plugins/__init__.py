"""Built-in plugins, loaded through the same hooks as third-party ones (see playbook_engine.plugins.DEFAULT_PLUGINS)."""
