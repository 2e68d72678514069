"""Built-in plugins, loaded through the same hooks as third-party ones (see engine.plugins.DEFAULT_PLUGINS)."""
