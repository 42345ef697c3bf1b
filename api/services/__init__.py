"""The service's logic, one concern per module; routes in api/routes only translate HTTP."""
