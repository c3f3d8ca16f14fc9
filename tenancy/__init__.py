"""Municipalities (tenants), groups, mutual aid, tenant parameters, staff and their access."""
