"""Image variants of a site's deployed images (SPEC §15), made with Pillow off the reactor."""
