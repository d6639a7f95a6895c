"""Autograding toolkit for "Generative AI for Music and Audio Creation"."""
