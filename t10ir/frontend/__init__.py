"""Importers: models from other frameworks as `top` functions."""
