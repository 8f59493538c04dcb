"""Sources (数据源): the hub store and adapters to existing systems (docked provincial
systems, services, files, other hubs), with declarative mappings, resilience and sync."""
