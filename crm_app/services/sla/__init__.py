"""SLA policies: deadlines in business hours, warnings and breaches."""
