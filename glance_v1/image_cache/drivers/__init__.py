"""Bookkeeping drivers of the image cache.

A driver records, per cached image, its size, checksum, hit count and
last access/modification times (epoch seconds). Files themselves are
managed by ``glance_v1.image_cache.ImageCache``.
"""
