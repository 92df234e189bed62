"""Forms: the wizard's step forms (built from the pack), the lead's, the audit filters, reports."""
