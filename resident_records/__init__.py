"""Resident records (住民基本台帳): persons, households, versions, residency events."""
