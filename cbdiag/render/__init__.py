"""Terminal views (rich) and pictures (Pillow) of cbdiag results."""
