"""Importers: thin mappings from public price sources onto the catalog schema."""
