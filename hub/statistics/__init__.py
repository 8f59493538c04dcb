"""Statistics and monitoring (统计与监测): aggregates inside the viewer's scope."""
