"""Screens and views of the app."""
