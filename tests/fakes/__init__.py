"""Test doubles: a scripted market-data source and an in-process Yahoo Finance."""
