"""unclip's built-in plugins. Each module registers through the same hooks a third-party package uses."""
