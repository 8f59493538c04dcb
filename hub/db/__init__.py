"""Database layer: declarative base, engine and session factories, bulk loading."""
